// Block-sparse masks (paper §3.3, FA1 Alg. 5): a 0/1 layout over blocks of the S = QK^T matrix.
// Element (row, col) may attend iff its block is 1. Named patterns build common layouts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <flashlab/core/error.hpp>
#include <flashlab/core/host_device.hpp>
#include <flashlab/core/philox.hpp>

namespace flashlab {

FLASHLAB_HD int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// A non-owning view that device code can take by value. layout == nullptr means "all blocks on".
struct BlockMaskView {
  const uint8_t* layout = nullptr;  // row_blocks x col_blocks, row-major, 1 = attend
  int64_t block_rows = 1;
  int64_t block_cols = 1;
  int64_t row_blocks = 0;
  int64_t col_blocks = 0;

  FLASHLAB_HD bool block_on(int64_t row_block, int64_t col_block) const {
    return layout == nullptr || layout[row_block * col_blocks + col_block] != 0;
  }
  FLASHLAB_HD bool allows(int64_t row, int64_t col) const {
    // The null test first: kernels call this per element, and the divisions are 64-bit.
    return layout == nullptr || block_on(row / block_rows, col / block_cols);
  }
};

struct BlockMask {
  int64_t block_rows = 1;  // rows of S per mask block
  int64_t block_cols = 1;  // columns of S per mask block
  int64_t row_blocks = 0;
  int64_t col_blocks = 0;
  std::vector<uint8_t> layout;  // row_blocks x col_blocks, row-major, each 0 or 1

  BlockMaskView view() const {
    return {layout.data(), block_rows, block_cols, row_blocks, col_blocks};
  }
  // Fraction of blocks that are on: the s of Proposition 4.
  double density() const {
    int64_t on = 0;
    for (uint8_t v : layout) on += v;
    return layout.empty() ? 0.0 : double(on) / double(layout.size());
  }
};

// Checks that the layout is 0/1, has the stated size, and covers a seq_q x seq_k score matrix.
inline void validate(const BlockMask& mask, int64_t seq_q, int64_t seq_k) {
  require(mask.block_rows >= 1 && mask.block_cols >= 1,
          "block mask block size must be at least 1x1, got " + std::to_string(mask.block_rows) +
              "x" + std::to_string(mask.block_cols));
  require(int64_t(mask.layout.size()) == mask.row_blocks * mask.col_blocks,
          "block mask layout has " + std::to_string(mask.layout.size()) + " entries, expected " +
              std::to_string(mask.row_blocks) + "x" + std::to_string(mask.col_blocks));
  require(
      mask.row_blocks == ceil_div(seq_q, mask.block_rows) &&
          mask.col_blocks == ceil_div(seq_k, mask.block_cols),
      "block mask of " + std::to_string(mask.row_blocks) + "x" + std::to_string(mask.col_blocks) +
          " blocks of " + std::to_string(mask.block_rows) + "x" + std::to_string(mask.block_cols) +
          " does not cover seq_q=" + std::to_string(seq_q) + ", seq_k=" + std::to_string(seq_k) +
          " (needs " + std::to_string(ceil_div(seq_q, mask.block_rows)) + "x" +
          std::to_string(ceil_div(seq_k, mask.block_cols)) + " blocks)");
  for (uint8_t v : mask.layout) require(v <= 1, "block mask entries must be 0 or 1");
}

namespace detail {
template <typename Rule>
BlockMask build_block_mask(int64_t seq_q, int64_t seq_k, int64_t block, Rule keep) {
  require(seq_q >= 1 && seq_k >= 1, "block mask needs seq_q, seq_k >= 1");
  require(block >= 1, "block mask block size must be >= 1, got " + std::to_string(block));
  BlockMask mask;
  mask.block_rows = mask.block_cols = block;
  mask.row_blocks = ceil_div(seq_q, block);
  mask.col_blocks = ceil_div(seq_k, block);
  mask.layout.resize(size_t(mask.row_blocks * mask.col_blocks));
  for (int64_t i = 0; i < mask.row_blocks; ++i)
    for (int64_t j = 0; j < mask.col_blocks; ++j)
      mask.layout[size_t(i * mask.col_blocks + j)] = keep(i, j) ? 1 : 0;
  return mask;
}
}  // namespace detail

// Flat butterfly (Pixelated Butterfly, Chen et al. 2021; the pattern of the paper's block-sparse
// experiments): block (i, j) is on iff i == j or i XOR j is a power of two. Density ~ log2(n)/n.
inline BlockMask butterfly_mask(int64_t seq_q, int64_t seq_k, int64_t block) {
  return detail::build_block_mask(seq_q, seq_k, block, [](int64_t i, int64_t j) {
    const uint64_t x = uint64_t(i ^ j);
    return (x & (x - 1)) == 0;  // 0 or a single set bit
  });
}

// Sliding window: block (i, j) is on iff |i - j| <= window (window counted in blocks).
inline BlockMask local_mask(int64_t seq_q, int64_t seq_k, int64_t block, int64_t window) {
  require(window >= 0, "local window must be >= 0 blocks, got " + std::to_string(window));
  return detail::build_block_mask(seq_q, seq_k, block, [window](int64_t i, int64_t j) {
    return (i > j ? i - j : j - i) <= window;
  });
}

// Each block on with probability `density`, drawn from Philox keyed by `seed`: reproducible.
inline BlockMask random_mask(int64_t seq_q, int64_t seq_k, int64_t block, double density,
                             uint64_t seed) {
  require(density >= 0.0 && density <= 1.0,
          "random block density must be in [0, 1], got " + std::to_string(density));
  const double threshold = density * 4294967296.0;
  return detail::build_block_mask(seq_q, seq_k, block, [&](int64_t i, int64_t j) {
    const Philox4x32 r = philox4x32<10>({{uint32_t(j), uint32_t(i), 0x6d61736bu, 0}},
                                        uint32_t(seed), uint32_t(seed >> 32));
    return double(r.x[0]) < threshold;
  });
}

// From a user-given 0/1 layout (e.g. a .npy file) of row_blocks x col_blocks.
inline BlockMask block_sparse_mask(std::vector<uint8_t> layout, int64_t row_blocks,
                                   int64_t col_blocks, int64_t block_rows, int64_t block_cols) {
  BlockMask mask{block_rows, block_cols, row_blocks, col_blocks, std::move(layout)};
  require(int64_t(mask.layout.size()) == row_blocks * col_blocks,
          "block layout has " + std::to_string(mask.layout.size()) + " entries, expected " +
              std::to_string(row_blocks) + "x" + std::to_string(col_blocks));
  for (uint8_t v : mask.layout) require(v <= 1, "block layout entries must be 0 or 1");
  return mask;
}

}  // namespace flashlab
