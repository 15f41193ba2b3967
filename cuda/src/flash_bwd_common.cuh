// What both fused backward kernels (mma.sync: flash_bwd_kernel.cuh, wgmma:
// flash_bwd_hopper_kernel.cuh) share: the launch parameters, the two small kernels around them
// (the preprocess, D = rowsum(dO ∘ O), and dQ's conversion), the key block a thread block owns
// and the query blocks it visits, and the recomputation of P and dS in the mma accumulator layout.
//
// The workspace (flash_bwd.cu) holds, per (batch, head), the query rows padded to a whole number
// of kBwdPaddedRows-row blocks: the fp32 dQ accumulator, D, and L in base 2. Padding rows have
// L = +inf, so that exp2(S - L) = 0 needs no row check; so do fully masked rows (L = -inf in the
// forward's output: no key contributes to them).
#pragma once

#include <flashlab/core/dropout.hpp>
#include <flashlab/core/options.hpp>
#include <flashlab/core/softmax_state.hpp>
#include <flashlab/core/tile_visibility.hpp>
#include <flashlab/cuda/api.hpp>

#include "dropout_bits.cuh"
#include "mma.cuh"

namespace flashlab::cuda {

// Query rows per block of the mma.sync backward, and of the wgmma backward except at d = 64
// without dropout, where it takes 128 (HopperBwdLayout).
constexpr int kBwdBlockM = 64;
// The workspace's rows are padded to a multiple of every kernel's query block.
constexpr int kBwdPaddedRows = 128;

// How the dQ accumulator of one query block is laid out: row-major [block rows][d] (the mma.sync
// kernel adds rows with atomics), or in the order the wgmma kernel's registers hold it (each
// warp adds 512 contiguous bytes per vector reduction, or at d = 256 a warpgroup its whole share
// by bulk reductions: bwd::dq_quad_position).
enum class DqLayout { RowMajor, Fragments };

template <typename Elem>
struct FlashBwdParams {
  const Elem* __restrict__ q;
  const Elem* __restrict__ k;
  const Elem* __restrict__ v;
  const Elem* __restrict__ o;
  const Elem* __restrict__ d_o;
  const float* __restrict__ lse;
  Elem* __restrict__ dk;
  Elem* __restrict__ dv;
  Elem* __restrict__ dq;
  float* __restrict__ dq_accum;  // fp32 [batch * heads][padded_q][dq_accum_d], zeroed before
  float* __restrict__ D;         // fp32 [batch * heads][padded_q]: rowsum(dO ∘ O), 0 on padding
  float* __restrict__ L2;        // fp32 [batch * heads][padded_q]: logsumexp * log2 e, or +inf
  int seq_q, seq_k, padded_q, heads, d;
  int dq_accum_d;  // columns of dQ's accumulator: d, or the wgmma kernel's padded head dim
  float scale, scale_log2;
  MaskParams mask;
  DropoutParams dropout;
  float keep_scale;
  uint8_t* __restrict__ tile_log;  // BackwardArgs::tile_log, read only by kLogTiles kernels
};

namespace bwd {

// Lanes per padded query row of the preprocess: each reads 16 bytes (8 elements) of dO and of O per
// load, so that a warp's loads cover 4 rows' contiguous 2 d bytes whole (d = 64: one load each).
// The one-warp-per-row kernel before it read 2 bytes per lane and ran at a quarter of the HBM
// bandwidth (ncu on the H200: 233 us for 2 x 128 MiB at d = 64, docs/performance.md "v17").
constexpr int kPreprocessLanes = 8;
constexpr int kPreprocessThreads = 256;
// The preprocess's grid covers the padded rows exactly, so no warp is cut short before its
// shuffles (which take all 32 lanes).
static_assert(kBwdPaddedRows % (kPreprocessThreads / kPreprocessLanes) == 0);

// D = rowsum(dO ∘ O) (FA1 Alg. 4 l. 19, hoisted out of the loops as FA2 Alg. 2 does), and L in
// base 2 (+inf on padding and on rows where nothing was visible), kPreprocessLanes lanes per
// padded query row.
template <typename Elem, int kD>
__global__ void __launch_bounds__(kPreprocessThreads)
    preprocess_kernel(const FlashBwdParams<Elem> p, int64_t padded_rows) {
  constexpr int kChunks = kD / 8;  // 16-byte chunks per row (kFastHeadDims are multiples of 8)
  const int64_t slot = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / kPreprocessLanes;
  const int lane = threadIdx.x % kPreprocessLanes;
  if (slot >= padded_rows) return;  // whole blocks only (the static_assert above)
  const int64_t bh = slot / p.padded_q, row = slot % p.padded_q;
  float sum = 0.f, L2 = INFINITY;
  if (row < p.seq_q) {
    const int64_t x0 = (bh * p.seq_q + row) * kD;
    const uint4* d_o = reinterpret_cast<const uint4*>(p.d_o + x0);
    const uint4* o = reinterpret_cast<const uint4*>(p.o + x0);
#pragma unroll
    for (int c = lane; c < kChunks; c += kPreprocessLanes) {
      const uint4 a = d_o[c], b = o[c];
      const uint32_t av[4] = {a.x, a.y, a.z, a.w}, bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        const float2 x = ptx::unpack2<Elem>(av[k]), y = ptx::unpack2<Elem>(bv[k]);
        sum += x.x * y.x + x.y * y.y;
      }
    }
    const float lse = p.lse[bh * p.seq_q + row];
    if (lse != -INFINITY) L2 = lse * float(kLog2e);
  }
  for (int offset = kPreprocessLanes / 2; offset > 0; offset /= 2)
    sum += __shfl_xor_sync(0xffffffffu, sum, offset);
  if (lane == 0) {
    p.D[slot] = sum;
    p.L2[slot] = L2;
  }
}

// Where float4 number f of a query block's accumulator goes in dQ.
// Row-major (the mma.sync kernel): row, columns col .. col + 3.
// The wgmma kernel's register order: the two warpgroups split the block's block_rows x d
// elements, with 64 rows by columns (warpgroup g computes columns [g d / 2, (g + 1) d / 2)), with
// 128 by rows (g computes rows [64 g, 64 g + 64), every column); warp w of it rows
// 16 w .. 16 w + 15 of its 64, in the wgmma accumulator layout (wgmma.cuh). Each thread's
// registers are added as float4 s, the 32 lanes' float4 number v side by side, so that every
// warp adds 512 contiguous bytes per vector reduction (or per store to shared memory, without
// bank conflicts, at d = 256) and each warpgroup's share is contiguous; float4 v of a lane holds
// (row, col), (row, col + 1), (row + 8, col), (row + 8, col + 1).
struct DqQuad {
  int row, col;
};

__host__ __device__ inline DqQuad dq_quad_position(int f, DqLayout layout, int d, int block_rows) {
  if (layout == DqLayout::RowMajor) return {4 * f / d, 4 * f % d};
  const int cols = block_rows * d / 128, quads = cols / 8;  // per warpgroup; float4 s per thread
  const int lane = f % 32, v = f / 32 % quads, w = f / 32 / quads % 4, g = f / 32 / quads / 4;
  const int groups_by_rows = block_rows / 64;  // 2: the warpgroups split rows, 1: columns
  return {64 * (g % groups_by_rows) + 16 * w + lane / 4,
          cols * (g / groups_by_rows) + 8 * v + 2 * (lane % 4)};
}

// float4 s of the accumulator each thread of the dQ conversion loads before it stores any: the
// loads of one batch are in flight together (the compiler cannot move a load above a store to dQ,
// which it cannot prove does not alias the accumulator).
constexpr int kConvertBatch = 4;

// dQ = scale * dQ_accum, converted to the element type, from either accumulator layout. One thread
// block per query block of block_rows rows (blockIdx.x, the backward kernel's) of head
// blockIdx.y; each thread reads whole float4 s of the accumulator (coalesced), kConvertBatch at a
// time, and writes two pairs or four elements each. The one-element-per-thread kernel before it
// gathered 4-byte reads and ran at a third of the HBM bandwidth (263 us for 256 MiB in, 128 MiB
// out; docs/performance.md "v17"). The wgmma kernel's accumulator can have more columns than dQ
// (dq_accum_d: d = 96 runs the d = 128 kernel); those are not read.
template <typename Elem>
__global__ void convert_dq_kernel(const FlashBwdParams<Elem> p, DqLayout layout, int block_rows) {
  const int row0 = blockIdx.x * block_rows, rows = min(block_rows, p.seq_q - row0);
  const int64_t bh = blockIdx.y;
  const float4* accum =
      reinterpret_cast<const float4*>(p.dq_accum + (bh * p.padded_q + row0) * p.dq_accum_d);
  Elem* dq = p.dq + (bh * p.seq_q + row0) * p.d;
  const int quads = block_rows * p.dq_accum_d / 4;
  const float s = p.scale;
  for (int f0 = threadIdx.x; f0 < quads; f0 += kConvertBatch * blockDim.x) {
    DqQuad at[kConvertBatch];
    float4 a[kConvertBatch];
#pragma unroll
    for (int k = 0; k < kConvertBatch; ++k) {
      const int f = f0 + k * blockDim.x;
      at[k] = dq_quad_position(f, layout, p.dq_accum_d, block_rows);
      if (f < quads && at[k].col < p.d && at[k].row < rows)
        a[k] = accum[f];
      else
        at[k].row = block_rows;  // nothing to store
    }
#pragma unroll
    for (int k = 0; k < kConvertBatch; ++k) {
      if (at[k].row >= rows) continue;
      Elem* out = dq + at[k].row * p.d + at[k].col;
      if (layout == DqLayout::RowMajor) {
        *reinterpret_cast<uint2*>(out) = make_uint2(ptx::pack2<Elem>(a[k].x * s, a[k].y * s),
                                                    ptx::pack2<Elem>(a[k].z * s, a[k].w * s));
        continue;
      }
      *reinterpret_cast<uint32_t*>(out) = ptx::pack2<Elem>(a[k].x * s, a[k].y * s);
      if (at[k].row + 8 < rows)
        *reinterpret_cast<uint32_t*>(out + 8 * p.d) = ptx::pack2<Elem>(a[k].z * s, a[k].w * s);
    }
  }
}

// The key block [col0, col0 + kBlockN) of head blockIdx.y that a thread block owns (the outer
// loop, FA1 Alg. 4 l. 6), and its walk over the query blocks of kBlockM rows that can see it
// (FA1 Alg. 4 l. 9). Which tiles are skipped or masked is core's tile_visibility (its two halves,
// tile_any_visible and tile_all_visible), the rule the simulator follows too.
template <int kBlockN, int kBlockM = kBwdBlockM>
struct KeyBlock {
  int bh, batch, head, col0, cols, n_qblocks, i_begin;

  template <typename Elem>
  __device__ explicit KeyBlock(const FlashBwdParams<Elem>& p)
      : bh(blockIdx.y),
        batch(bh / p.heads),
        head(bh % p.heads),
        col0(blockIdx.x * kBlockN),
        cols(min(kBlockN, p.seq_k - col0)),
        n_qblocks((p.seq_q + kBlockM - 1) / kBlockM),
        // Causal (top-left): query blocks that end before col0 are None, not even worth asking.
        i_begin(p.mask.causal ? col0 / kBlockM : 0) {}

  // The first query block >= i with some visible score (FA1 Alg. 5 l. 8 skips the others), or
  // n_qblocks. kInlineScan: as in tile_any_visible (the kernels that use setmaxnreg need it).
  template <bool kInlineScan = false, typename Elem>
  __device__ int next_visible(const FlashBwdParams<Elem>& p, int i) const {
    while (i < n_qblocks &&
           !tile_any_visible<kInlineScan>(p.mask, i * kBlockM, min(kBlockM, p.seq_q - i * kBlockM),
                                          col0, cols))
      ++i;
    return i;
  }

  // True when query block i needs the per-element mask: a tail past seq_q or seq_k, or a tile the
  // mask leaves partly visible (the diagonal, a partly hidden sparse block).
  template <typename Elem>
  __device__ bool needs_element_mask(const FlashBwdParams<Elem>& p, int i) const {
    const int row0 = i * kBlockM;
    return col0 + kBlockN > p.seq_k || row0 + kBlockM > p.seq_q ||
           !tile_all_visible(p.mask, row0, kBlockM, col0, kBlockN);
  }

  // Debug (BackwardArgs::tile_log; only the kernels built with kLogTiles call it): query block i
  // was computed, with or without the element mask. `writer`: true in one thread of the block
  // (the first compute thread).
  template <typename Elem>
  __device__ void log_tile(const FlashBwdParams<Elem>& p, int i, bool element_mask,
                           bool writer) const {
    if (!writer) return;
    p.tile_log[(int64_t(bh) * n_qblocks + i) * gridDim.x + blockIdx.x] =
        element_mask ? kTileMasked : kTileComputed;
  }

  // Copies L (base 2) and D of query block i into shared memory: kBlockM / 4 chunks of 16 bytes
  // each, one each for copying threads t = 0 .. kBlockM / 2 - 1.
  template <typename Elem>
  __device__ void load_row_stats_async(const FlashBwdParams<Elem>& p, int i, float* sL, float* sD,
                                       int t) const {
    constexpr int kChunks = kBlockM / 4;
    if (t >= 2 * kChunks) return;
    const int64_t row = int64_t(bh) * p.padded_q + i * kBlockM + (t % kChunks) * 4;
    if (t < kChunks)
      ptx::cp_async_16(sL + (t % kChunks) * 4, p.L2 + row, 16);
    else
      ptx::cp_async_16(sD + (t % kChunks) * 4, p.D + row, 16);
  }
};

// The elementwise work between the matrix products (FA1 Alg. 4 l. 12–15, 18 and 20, with FA2's
// logsumexp) for one warp's 16 keys against kQTiles x 8 queries of block row0, in the mma
// accumulator layout: keys key_lo and key_lo + 8, queries 8 t + 2 (lane % 4) + {0, 1} of tile t.
// It comes in two steps so that the wgmma kernel can run the first while the tensor cores still
// compute dP^T.
//
// Step 1 (FA1 Alg. 4 l. 13): on entry ST = S^T = K Q^T; on return ST = P^T = exp(scale S - L)^T,
// recomputed exactly from the forward's logsumexp (0 on padding rows, where L = +inf). No
// per-element branch: the masks are applied by mask_p, only for the tiles that need it (measured: a
// mask test inside this loop cost a branch per element and doubled the kernel's code).
template <int kQTiles, typename Elem>
__device__ __forceinline__ void recompute_p(float (&ST)[kQTiles][4], const FlashBwdParams<Elem>& p,
                                            const float* sL, int lane) {
#pragma unroll
  for (int t = 0; t < kQTiles; ++t) {
    const float2 L = *reinterpret_cast<const float2*>(sL + t * 8 + (lane % 4) * 2);
    ST[t][0] = ptx::fast_exp2(ST[t][0] * p.scale_log2 - L.x);
    ST[t][1] = ptx::fast_exp2(ST[t][1] * p.scale_log2 - L.y);
    ST[t][2] = ptx::fast_exp2(ST[t][2] * p.scale_log2 - L.x);
    ST[t][3] = ptx::fast_exp2(ST[t][3] * p.scale_log2 - L.y);
  }
}

// Sets P to 0 where a key may not be seen (FA1 Alg. 4 l. 12's mask, applied to P): past seq_k,
// above the causal diagonal, in a zero block of a block-sparse layout (rows past seq_q have P = 0
// already, from L = +inf, and must not index the layout). As in the forward's mask_scores, the
// layout's lookup is a second pass, out of the compare-and-select loop.
template <int kQTiles, typename Elem>
__device__ __forceinline__ void mask_p(float (&ST)[kQTiles][4], const FlashBwdParams<Elem>& p,
                                       int key_lo, int row0, int lane) {
  ptx::for_each_accumulator(ST, key_lo, row0, lane, [&](float& x, int key, int row) {
    const bool hidden = key >= p.seq_k || (p.mask.causal && key > row);
    x = hidden ? 0.f : x;
  });
  if (p.mask.block.layout == nullptr) return;
  ptx::for_each_accumulator(ST, key_lo, row0, lane, [&](float& x, int key, int row) {
    if (key < p.seq_k && row < p.seq_q && !p.mask.block.allows(row, key)) x = 0.f;
  });
}

// Step 2: on entry ST = P^T and dPT = dP^T = V dO^T; on return ST = (P ∘ Z)^T for dV
// (FA1 Alg. 4 l. 14–15) and dPT = dS^T = (P ∘ (dP ∘ Z - D))^T for dK and dQ (FA1 Alg. 4 l. 18
// and 20), Z the dropout multiplier from the forward's Philox words: `keep`'s bits
// (bwd::dropout_keep_bits_transposed), read only where `dropout` (callers pass a constant where
// they can).
template <int kQTiles>
__device__ __forceinline__ void dropout_and_ds(float (&ST)[kQTiles][4], float (&dPT)[kQTiles][4],
                                               const KeepBits<kQTiles>& keep, bool dropout,
                                               float keep_scale, const float* sD, int lane) {
#pragma unroll
  for (int t = 0; t < kQTiles; ++t) {
    const float2 D = *reinterpret_cast<const float2*>(sD + t * 8 + (lane % 4) * 2);
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const float Z = !dropout ? 1.f : keep.keep(t, e) ? keep_scale : 0.f;
      const float P = ST[t][e];
      ST[t][e] = P * Z;
      dPT[t][e] = P * (dPT[t][e] * Z - (e % 2 ? D.y : D.x));
    }
  }
}

// The A fragment (mma.m16n8k16 / wgmma register A) of k-step kk from an accumulator whose
// columns are the k dimension: tiles 2 kk and 2 kk + 1, rounded to the element type.
template <typename Elem, int kTiles>
__device__ __forceinline__ void a_fragment(const float (&acc)[kTiles][4], int kk,
                                           uint32_t (&a)[4]) {
  a[0] = ptx::pack2<Elem>(acc[2 * kk][0], acc[2 * kk][1]);
  a[1] = ptx::pack2<Elem>(acc[2 * kk][2], acc[2 * kk][3]);
  a[2] = ptx::pack2<Elem>(acc[2 * kk + 1][0], acc[2 * kk + 1][1]);
  a[3] = ptx::pack2<Elem>(acc[2 * kk + 1][2], acc[2 * kk + 1][3]);
}

// FA1 Alg. 4 l. 24: this thread's rows of dK_j (times the softmax scale of S = tau Q K^T) and
// dV_j, keys key_lo and key_lo + 8, columns [c0, c0 + kCols) of the head dim, to HBM. Rows are
// kStoredD long: a kernel built for a larger kD (d = 96 runs the d = 128 wgmma kernel on
// zero-padded tiles) does not store the padding's columns.
template <typename Elem, int kD, int kCols, int kStoredD = kD>
__device__ __forceinline__ void store_dk_dv(const float (&dK)[kCols / 8][4],
                                            const float (&dV)[kCols / 8][4],
                                            const FlashBwdParams<Elem>& p, int bh, int key_lo,
                                            int c0, int lane) {
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int key = key_lo + r * 8;
    if (key >= p.seq_k) continue;
    const int64_t base = (int64_t(bh) * p.seq_k + key) * kStoredD + c0 + (lane % 4) * 2;
#pragma unroll
    for (int t = 0; t < kCols / 8; ++t) {
      if constexpr (kStoredD < kD)
        if (c0 + (lane % 4) * 2 + t * 8 >= kStoredD) continue;
      *reinterpret_cast<uint32_t*>(p.dk + base + t * 8) =
          ptx::pack2<Elem>(dK[t][2 * r] * p.scale, dK[t][2 * r + 1] * p.scale);
      *reinterpret_cast<uint32_t*>(p.dv + base + t * 8) =
          ptx::pack2<Elem>(dV[t][2 * r], dV[t][2 * r + 1]);
    }
  }
}

}  // namespace bwd
}  // namespace flashlab::cuda
