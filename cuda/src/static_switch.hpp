// Compile-time dispatch, written once: a run-time head dim, dtype or flag becomes a template
// argument by calling a generic lambda with a constant (the role of FlashAttention-3's
// static_switch.h macros, as functions). Every kernel instantiation is reached through these.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <type_traits>
#include <utility>

#include <flashlab/cuda/api.hpp>

namespace flashlab::cuda {

namespace detail {
template <const auto& kValues, typename F, size_t... I>
bool switch_value(int64_t value, F& f, std::index_sequence<I...>) {
  return ((value == kValues[I] ? (f(std::integral_constant<int, kValues[I]>{}), true) : false) ||
          ...);
}
}  // namespace detail

// Calls f(std::integral_constant<int, v>{}) for the v of kValues that equals `value`; returns
// false, calling nothing, when none does.
template <const auto& kValues, typename F>
bool switch_value(int64_t value, F&& f) {
  return detail::switch_value<kValues>(value, f, std::make_index_sequence<std::size(kValues)>{});
}

// f(std::integral_constant<int, d>{}) for the head dim d of kFastHeadDims. Callers validate first
// (require_fast_head_dim), so another value here is a bug in flashlab, reported as one.
template <typename F>
void switch_head_dim(int64_t head_dim, F&& f) {
  if (!switch_value<kFastHeadDims>(head_dim, f))
    throw Error("internal error: head_dim " + std::to_string(head_dim) +
                " reached the kernel dispatch without validation");
}

// f(std::true_type{}) or f(std::false_type{}).
template <typename F>
void switch_bool(bool value, F&& f) {
  if (value)
    f(std::true_type{});
  else
    f(std::false_type{});
}

// The element type of a dtype, and the dtype, as compile-time values.
template <typename T, DType kDType>
struct ElemTag {
  using type = T;
  static constexpr DType dtype = kDType;
};

// The dtype of a tensor-core element type (ElemTag the other way round).
template <typename T>
inline constexpr DType kDTypeOf = std::is_same_v<T, __half> ? DType::F16 : DType::BF16;

// f(ElemTag<__half, F16>{}) for fp16, f(ElemTag<__nv_bfloat16, BF16>{}) for bf16: the
// tensor-core dtypes. Callers refuse fp32 first, as for switch_head_dim.
template <typename F>
void switch_dtype(DType dtype, F&& f) {
  if (dtype == DType::F16)
    f(ElemTag<__half, DType::F16>{});
  else if (dtype == DType::BF16)
    f(ElemTag<__nv_bfloat16, DType::BF16>{});
  else
    throw Error("internal error: dtype " + to_string(dtype) +
                " reached a tensor-core dispatch without validation");
}

}  // namespace flashlab::cuda
