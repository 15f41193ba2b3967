// What every implementation returns: forward {O, logsumexp}, backward {dQ, dK, dV}, in the
// [batch, heads, seq, head_dim] layout ([batch, heads, seq_q] for the logsumexp).
#pragma once

#include <flashlab/core/tensor.hpp>

namespace flashlab {

template <typename T>
struct ForwardResult {
  Tensor<T> O;
  Tensor<T> lse;  // L = m + log l per query row (FA2); -inf for a row whose every key is masked
};

template <typename T>
struct Gradients {
  Tensor<T> dQ;
  Tensor<T> dK;
  Tensor<T> dV;
};

}  // namespace flashlab
