// What to compute besides plain softmax(QK^T)V: scale, causal mask, dropout, block-sparse mask
// (FA1 Alg. 2 and FA1 Alg. 5). Causal is top-left aligned, like PyTorch's is_causal: query row i
// sees key columns j <= i, also when seq_q != seq_k.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/core/dropout.hpp>
#include <flashlab/core/error.hpp>
#include <flashlab/core/host_device.hpp>
#include <flashlab/core/shape.hpp>

namespace flashlab {

struct AttentionOptions {
  std::optional<double> softmax_scale;  // tau of FA1 Alg. 2; default 1/sqrt(head_dim)
  bool causal = false;
  double dropout_p = 0.0;
  uint64_t seed = 0;                    // Philox key of the dropout mask
  std::optional<BlockMask> block_mask;  // FA1 Alg. 5; absent = dense
};

inline double softmax_scale(const AttentionOptions& o, const AttentionShape& s) {
  return o.softmax_scale.value_or(1.0 / std::sqrt(double(s.head_dim)));
}

inline void validate(const AttentionOptions& o, const AttentionShape& s) {
  validate(s);
  const double scale = softmax_scale(o, s);
  require(std::isfinite(scale) && scale > 0.0,
          "softmax scale must be finite and > 0, got " + std::to_string(scale));
  require(std::isfinite(o.dropout_p) && o.dropout_p >= 0.0 && o.dropout_p < 1.0,
          "dropout probability must be in [0, 1), got " + std::to_string(o.dropout_p));
  if (o.block_mask) validate(*o.block_mask, s.seq_q, s.seq_k);
}

// Which scores survive masking: the causal rule and the block mask together.
struct MaskParams {
  bool causal = false;
  BlockMaskView block;  // layout == nullptr when there is no block mask

  FLASHLAB_HD bool allows(int64_t row, int64_t col) const {
    return (!causal || col <= row) && block.allows(row, col);
  }
};

// The options in the plain form that inner loops and device code take by value. Holds a pointer
// into options.block_mask: keep the options alive while the params are used.
struct AttentionParams {
  double scale = 1.0;
  MaskParams mask;
  DropoutParams dropout;
};

inline AttentionParams make_params(const AttentionOptions& o, const AttentionShape& s) {
  validate(o, s);
  AttentionParams p;
  p.scale = softmax_scale(o, s);
  p.mask.causal = o.causal;
  if (o.block_mask) p.mask.block = o.block_mask->view();
  p.dropout = make_dropout(o.dropout_p, o.seed);
  return p;
}

}  // namespace flashlab
