// One (batch, head) attention problem as the tiled algorithms see it: sizes, block sizes, scale,
// mask and dropout. Each head is independent (as on the GPU); simulate.hpp loops over them.
#pragma once

#include <cstdint>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/core/options.hpp>
#include <flashlab/core/tile_visibility.hpp>
#include <flashlab/core/tiling.hpp>
#include <flashlab/simulator/trace/trace.hpp>

namespace flashlab::simulator {

struct HeadProblem {
  int64_t seq_q = 1;      // N (rows of Q, O)
  int64_t seq_k = 1;      // N (rows of K, V) -- may differ from seq_q
  int64_t head_dim = 1;   // d
  int64_t Br = 1;         // rows of a Q / O block
  int64_t Bc = 1;         // rows of a K / V block
  float tau = 1.0f;       // softmax scale
  bool dropout = false;   // p_drop > 0
  MaskParams mask;        // causal and block mask (block.layout == nullptr when dense)
  bool kept_max = false;  // Flash2's forward keeps its running max (SimConfig::kept_max)

  int64_t Tr() const { return ceil_div(seq_q, Br); }
  int64_t Tc() const { return ceil_div(seq_k, Bc); }
  bool masked() const { return mask.causal || mask.block.layout != nullptr; }
  // Row block i of Q / O (the last one may be short), as a rectangle of a seq_q x cols tensor.
  TileRect q_block(int64_t i, int64_t cols) const {
    return {i * Br, (i + 1) * Br <= seq_q ? Br : seq_q - i * Br, 0, cols};
  }
  // Row block j of K / V.
  TileRect kv_block(int64_t j, int64_t cols) const {
    return {j * Bc, (j + 1) * Bc <= seq_k ? Bc : seq_k - j * Bc, 0, cols};
  }
  // Block (i, j) of the seq_q x seq_k score matrix S.
  TileRect s_block(int64_t i, int64_t j) const {
    const TileRect r = q_block(i, 1), c = kv_block(j, 1);
    return {r.row0, r.rows, c.row0, c.rows};
  }
  // What the mask leaves of block (i, j) of S: skip it, mask it, or neither (core's one rule).
  TileVisibility visibility(int64_t i, int64_t j) const {
    const TileRect s = s_block(i, j);
    return tile_visibility(mask, s.row0, s.rows, s.col0, s.cols);
  }
};

inline HeadProblem make_head_problem(const AttentionShape& shape, const AttentionParams& params,
                                     const TileSizes& tiles) {
  HeadProblem p;
  p.seq_q = shape.seq_q;
  p.seq_k = shape.seq_k;
  p.head_dim = shape.head_dim;
  p.Br = tiles.block_rows;
  p.Bc = tiles.block_cols;
  p.tau = static_cast<float>(params.scale);
  p.dropout = params.dropout.enabled;
  p.mask = params.mask;
  return p;
}

}  // namespace flashlab::simulator
