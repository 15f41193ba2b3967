// What both fused forward kernels (mma.sync: flash_fwd_kernel.cuh, wgmma:
// flash_fwd_hopper_kernel.cuh) share around their tiles: the launch parameters, and which query
// block a thread block works on and which key blocks it visits.
#pragma once

#include <flashlab/core/dropout.hpp>
#include <flashlab/core/options.hpp>
#include <flashlab/core/tile_visibility.hpp>
#include <flashlab/cuda/api.hpp>

#include "mma.cuh"

namespace flashlab::cuda {

template <typename Elem>
struct FlashFwdParams {
  const Elem* __restrict__ q;
  const Elem* __restrict__ k;
  const Elem* __restrict__ v;
  Elem* __restrict__ o;
  float* __restrict__ lse;
  int seq_q, seq_k, heads;
  int batch_heads;   // batch x heads: the matrices of q, k, v
  float scale_log2;  // softmax scale * log2(e)
  MaskParams mask;
  DropoutParams dropout;
  float keep_scale;
  uint8_t* __restrict__ tile_log;  // ForwardArgs::tile_log, read only by kLogTiles kernels
  int* work_counter;               // the persistent rung's next unit, 0 at launch (flash_fwd.cu)
};

namespace fwd {

// Query block i of head bh (FA2 Alg. 1 l. 3), and the walk over its key blocks j (the inner loop,
// FA2 Alg. 1 l. 6). A grid of one thread block per query block takes i = gridDim.x - 1 -
// blockIdx.x, bh = blockIdx.y: the heaviest causal blocks first, so the short ones fill the tail
// of the launch; a persistent kernel names the block it took from its own schedule. Which tiles
// are skipped or masked is core's tile_visibility (its two halves, tile_any_visible and
// tile_all_visible), the rule the simulator follows too.
template <typename Elem, int kD, int kBlockM, int kBlockN>
struct QueryBlock {
  int bh, batch, head;
  int row0, rows;  // first query row and rows inside seq_q
  int j_end;       // key blocks [0, j_end) may be visible: causal ends at the diagonal's block
  const Elem *q, *k, *v;  // this head's [seq, kD] tensors

  __device__ explicit QueryBlock(const FlashFwdParams<Elem>& p)
      : QueryBlock(p, int(gridDim.x - 1 - blockIdx.x), int(blockIdx.y)) {}

  __device__ QueryBlock(const FlashFwdParams<Elem>& p, int block, int bh_)
      : bh(bh_),
        batch(bh / p.heads),
        head(bh % p.heads),
        row0(block * kBlockM),
        rows(min(kBlockM, p.seq_q - row0)),
        q(p.q + int64_t(bh) * p.seq_q * kD),
        k(p.k + int64_t(bh) * p.seq_k * kD),
        v(p.v + int64_t(bh) * p.seq_k * kD) {
    const int n_blocks = (p.seq_k + kBlockN - 1) / kBlockN;
    // Blocks past the diagonal's are None under causal masking: not even worth asking.
    j_end = p.mask.causal ? min(n_blocks, (row0 + rows - 1) / kBlockN + 1) : n_blocks;
  }

  // The first key block >= j with some visible score (FA1 Alg. 5 l. 8 skips the others), or j_end.
  // kInlineScan: as in tile_any_visible (the kernels that use setmaxnreg need it).
  template <bool kInlineScan = false>
  __device__ int next_visible(const FlashFwdParams<Elem>& p, int j) const {
    while (j < j_end && !tile_any_visible<kInlineScan>(p.mask, row0, rows, j * kBlockN,
                                                       min(kBlockN, p.seq_k - j * kBlockN)))
      ++j;
    return j;
  }

  // True when key block j needs the per-element mask: a tail past seq_k, or a tile the mask leaves
  // partly visible (the diagonal, a partly hidden sparse block). Only the rows inside seq_q count
  // (the padding rows of the last block are never stored, and must not index a block-sparse
  // layout).
  __device__ bool needs_element_mask(const FlashFwdParams<Elem>& p, int j) const {
    const int col0 = j * kBlockN;
    return col0 + kBlockN > p.seq_k || !tile_all_visible(p.mask, row0, rows, col0, kBlockN);
  }

  // Debug (ForwardArgs::tile_log; only the kernels built with kLogTiles call it): key block j
  // was computed, with or without the element mask.
  // `writer`: true in one thread of the block (the first compute thread).
  __device__ void log_tile(const FlashFwdParams<Elem>& p, int j, bool element_mask,
                           bool writer) const {
    if (!writer) return;
    const int n_blocks = (p.seq_k + kBlockN - 1) / kBlockN;
    const int query_blocks = (p.seq_q + kBlockM - 1) / kBlockM;
    p.tile_log[(int64_t(bh) * query_blocks + row0 / kBlockM) * n_blocks + j] =
        element_mask ? kTileMasked : kTileComputed;
  }

  __device__ Elem* output(const FlashFwdParams<Elem>& p) const {
    return p.o + int64_t(bh) * p.seq_q * kD;
  }
  __device__ float* logsumexp(const FlashFwdParams<Elem>& p) const {
    return p.lse + int64_t(bh) * p.seq_q;
  }
};

// Copies rows [row0, row0 + kRows) of a [seq, kD] tensor into a shared-memory tile of kTileD
// columns, 16 bytes per cp.async, to the element offset tile_offset(row, col); rows past `seq`,
// and the columns past kD where the tile is wider (d = 96 in the d = 128 wgmma kernels' tiles),
// are zero-filled, as TMA fills them. Thread t always copies column chunk t % (kTileD / 8) of rows
// t / (kTileD / 8) + k * kRowsPerPass, so its addresses are computed once per tile and then
// advance by constant strides: the copies of every K/V tile cost a few instructions each, not an
// index computation per chunk (measured: that computation was ~700 integer instructions per
// iteration of the wgmma kernel). tile_offset must be affine in the row over steps of
// kRowsPerPass (the padded layout is; the 128-byte swizzle is for steps that are multiples of 8
// rows). Where the chunks of a row do not divide the threads (d = 96 tiles of the mma.sync
// kernels), each chunk computes its own position.
template <int kRows, int kD, int kThreads, int kTileD = kD, typename Elem, typename Offset>
__device__ __forceinline__ void load_tile_async(Elem* smem, const Elem* gmem, int row0, int seq,
                                                Offset tile_offset) {
  static_assert(kTileD >= kD && kTileD % 8 == 0 && kD % 8 == 0, "whole 16-byte chunks");
  constexpr int kChunksPerRow = kTileD / 8, kRowsPerPass = kThreads / kChunksPerRow;
  if constexpr (kThreads % kChunksPerRow != 0) {  // d = 96 tiles: chunks do not tile the threads
#pragma unroll
    for (int c = threadIdx.x; c < kRows * kChunksPerRow; c += kThreads) {
      const int r = c / kChunksPerRow, col = (c % kChunksPerRow) * 8;
      const bool inside = row0 + r < seq && col < kD;
      ptx::cp_async_16(smem + tile_offset(r, col),
                       inside ? gmem + int64_t(row0 + r) * kD + col : gmem, inside ? 16 : 0);
    }
  } else {
    const int row = threadIdx.x / kChunksPerRow, col = threadIdx.x % kChunksPerRow * 8;
    if (row >= kRows) return;  // more threads than chunks (small tiles)
    const int offset = tile_offset(row, col);
    const int pass_stride =
        kRowsPerPass < kRows ? tile_offset(row + kRowsPerPass, col) - offset : 0;
    const bool column_inside = col < kD;  // always, unless the tile is padded
    const Elem* src = gmem + int64_t(row0 + row) * kD + col;
#pragma unroll
    for (int pass = 0; pass < (kRows + kRowsPerPass - 1) / kRowsPerPass; ++pass) {
      if (row + pass * kRowsPerPass >= kRows) break;
      const bool inside = column_inside && row0 + row + pass * kRowsPerPass < seq;
      ptx::cp_async_16(smem + offset + pass * pass_stride,
                       inside ? src + int64_t(pass) * kRowsPerPass * kD : gmem, inside ? 16 : 0);
    }
  }
}

}  // namespace fwd
}  // namespace flashlab::cuda
