// Argument checks shared by every entry point of the host API: a bad call throws
// flashlab::Error naming the argument, never launches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <flashlab/core/options.hpp>
#include <flashlab/cuda/api.hpp>

namespace flashlab::cuda {

// "32, 64, 96, 128, 256": a list of accepted values for an error message, from its constant.
template <size_t N>
std::string list_text(const int (&values)[N]) {
  std::string text;
  for (size_t i = 0; i < N; ++i) text += (i > 0 ? ", " : "") + std::to_string(values[i]);
  return text;
}

// The tensor-core kernels are built for the head dims of kFastHeadDims only.
inline void require_fast_head_dim(int64_t head_dim, const std::string& entry) {
  bool supported = false;
  for (int d : kFastHeadDims) supported |= head_dim == d;
  require(supported, entry + ": head_dim " + std::to_string(head_dim) +
                         " is not supported; accepted: " + list_text(kFastHeadDims));
}

inline void require_device_pointer(const void* p, const char* name, int alignment) {
  require(p != nullptr, std::string(name) + " is a null pointer");
  require(reinterpret_cast<uintptr_t>(p) % alignment == 0,
          std::string(name) + " must be " + std::to_string(alignment) + "-byte aligned");
}

// Shape, options and dtype of a call to the tensor-core kernels.
inline void validate_fast_call(const AttentionShape& shape, const AttentionOptions& options,
                               DType dtype, const char* entry) {
  validate(options, shape);
  require(dtype == DType::F16 || dtype == DType::BF16,
          std::string(entry) + ": dtype " + to_string(dtype) +
              " is not supported; accepted: fp16, bf16");
  require_fast_head_dim(shape.head_dim, entry);
  require(shape.seq_q < (int64_t{1} << 31) && shape.seq_k < (int64_t{1} << 31) &&
              shape.batch * shape.heads < 65536,
          std::string(entry) + ": shape " + to_string(shape) +
              " exceeds the launch limits (seq < 2^31, batch*heads < 65536)");
}

// The debug tile log (ForwardArgs::tile_log) belongs to the fused kernels; elsewhere it would be
// silently left untouched.
inline void require_no_tile_log(const uint8_t* tile_log, const char* entry) {
  require(tile_log == nullptr,
          std::string(entry) + ": tile_log is recorded only by flash_forward and flash_backward");
}

inline void validate_forward_args(const ForwardArgs& a, DType dtype) {
  const int align = dtype == DType::F32 ? 4 : 16;  // tensor-core kernels copy 16-byte chunks
  require_device_pointer(a.q, "q", align);
  require_device_pointer(a.k, "k", align);
  require_device_pointer(a.v, "v", align);
  require_device_pointer(a.o, "o", align);
  require_device_pointer(a.lse, "lse", 4);
}

inline void validate_backward_args(const BackwardArgs& a, DType dtype) {
  const int align = dtype == DType::F32 ? 4 : 16;
  require_device_pointer(a.q, "q", align);
  require_device_pointer(a.k, "k", align);
  require_device_pointer(a.v, "v", align);
  require_device_pointer(a.o, "o", align);
  require_device_pointer(a.d_o, "d_o", align);
  require_device_pointer(a.lse, "lse", 4);
  require_device_pointer(a.dq, "dq", align);
  require_device_pointer(a.dk, "dk", align);
  require_device_pointer(a.dv, "dv", align);
}

}  // namespace flashlab::cuda
