// Ground truth: standard attention (FA1 Alg. 0) and its backward (FA1 Alg. 3) in double precision,
// with every option of core (scale, causal, dropout, block-sparse mask, seq_q != seq_k).
#pragma once

#include <flashlab/core/options.hpp>
#include <flashlab/core/results.hpp>
#include <flashlab/core/shape.hpp>
#include <flashlab/core/tensor.hpp>

namespace flashlab::reference {

// O = dropout(softmax(mask(tau * Q K^T))) V and the row logsumexp of mask(tau * Q K^T).
// A query row whose every key is masked has no softmax: its output row is 0 and its logsumexp
// is -inf (never NaN), which is also what the tiled algorithms produce for it.
ForwardResult<double> attention_forward(const AttentionShape& shape,
                                        const AttentionOptions& options, const Tensor<double>& Q,
                                        const Tensor<double>& K, const Tensor<double>& V);

// dQ, dK, dV for upstream gradient dO (FA1 Alg. 3 with the mask and dropout passes of FA1 Alg. 4).
Gradients<double> attention_backward(const AttentionShape& shape, const AttentionOptions& options,
                                     const Tensor<double>& Q, const Tensor<double>& K,
                                     const Tensor<double>& V, const Tensor<double>& dO);

// The dropout multiplier Z of FA1 Alg. 4 l. 14 for one head: 1/(1-p) where kept, 0 where dropped,
// seq_q x seq_k row-major. For tests and tools that compare masks element by element.
Tensor<double> dropout_multiplier(const AttentionShape& shape, const AttentionOptions& options,
                                  int64_t batch, int64_t head);

}  // namespace flashlab::reference
