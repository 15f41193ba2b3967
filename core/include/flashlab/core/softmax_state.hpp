// The online-softmax statistics of one row (paper §3.1): m = running max, l = sum of exp(x - m).
// Merging two partial states gives the state of the concatenated row, in any order and split.
#pragma once

#include <cmath>

#include <flashlab/core/host_device.hpp>

namespace flashlab {

// Kernels exponentiate in base 2: e^x = 2^(x log2 e), one multiply-add and one ex2 instruction
// (log2(e) folded into the softmax scale, as FlashAttention's own code does); ln 2 turns a
// base-2 logsumexp back into natural-log units.
inline constexpr double kLog2e = 1.4426950408889634;  // log2(e)
inline constexpr double kLn2 = 0.6931471805599453;    // ln(2) = 1 / log2(e)

// How far (base-2 units, log2 of the factor) a score may rise above the running max m before an
// online softmax that keeps m must move it (FA4's conditional rescale, docs/theory.md): P~ =
// 2^(s - m) then stays at most 2^8 = 256, exact in fp16 and bf16, and O_i and l_i in fp32 take
// such factors without loss. The CUDA forward (fwd_softmax.cuh) and the simulator's FA2 forward
// with SimConfig::kept_max share it.
inline constexpr double kKeptMaxSlackLog2 = 8;

template <typename T>
struct SoftmaxState {
  T m = -INFINITY;  // max of the scores seen so far; -inf while no (unmasked) score was seen
  T l = T(0);       // sum of exp(score - m) over the scores seen so far
};

// exp(m_old - m_new) with the convention that a state that has seen nothing contributes 0.
// This is the factor of §3.1 that rescales l (and, in FA1 Alg. 1 l. 12, the partial output O).
template <typename T>
FLASHLAB_HD T rescale_factor(T m_old, T m_new) {
  if (m_old == T(-INFINITY)) return T(0);
  return static_cast<T>(exp(m_old - m_new));
}

// §3.1: m(x) = max(m(x1), m(x2)); l(x) = e^{m(x1)-m(x)} l(x1) + e^{m(x2)-m(x)} l(x2).
template <typename T>
FLASHLAB_HD SoftmaxState<T> merge(const SoftmaxState<T>& a, const SoftmaxState<T>& b) {
  SoftmaxState<T> out;
  out.m = a.m > b.m ? a.m : b.m;
  if (out.m == T(-INFINITY)) return out;  // both empty (fully masked so far)
  out.l = rescale_factor(a.m, out.m) * a.l + rescale_factor(b.m, out.m) * b.l;
  return out;
}

// log-sum-exp of the row, L = m + log l (FA2 §3.1.1); -inf for a row with no unmasked score.
template <typename T>
FLASHLAB_HD T logsumexp(const SoftmaxState<T>& s) {
  if (s.m == T(-INFINITY) || s.l == T(0)) return T(-INFINITY);
  return s.m + static_cast<T>(log(s.l));
}

}  // namespace flashlab
