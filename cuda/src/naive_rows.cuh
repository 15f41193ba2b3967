// One warp's view of one row of an N x N matrix in HBM (S, P, dP of the naive baseline), for the
// row-wise passes of standard attention (the softmax, FA1 Alg. 0 l. 2, and its backward,
// FA1 Alg. 3 l. 3). Two ways to hold the row, with the same interface, so that each pass is written
// once:
//   RegisterRow<E, kChunks>  the row in the warp's registers, read from HBM once with 16-byte
//                            loads (lane l holds the 8-element chunks l, l + 32, ...), written
//                            back by store(): what FA1 Alg. 0 counts (read S once, write P once);
//   GlobalRow<E>             the row left in HBM, every pass reading it again (rows too long for
//                            the registers, or not 16-byte aligned); the L2 catches the re-reads
//                            only while the rows in flight fit it.
// E may be const (a row that is only read). for_each(f) calls f(E&) on every element of the row;
// for_each_with(other, f) calls f(E&, F&) on the elements of two rows of the same length, column
// by column.
#pragma once

#include <cstdint>

namespace flashlab::cuda::naive_rows {

constexpr int kChunkElems = 8;  // 16 bytes of 16-bit elements

// The chunks per lane (a power of two) that hold a row of seq_k columns in a RegisterRow, or 0
// where the row takes a GlobalRow: seq_k not a multiple of 8 (rows not 16-byte aligned), or more
// columns than max_chunks chunks per lane hold (32 x 8 x max_chunks).
inline int chunks_per_lane(int64_t seq_k, int max_chunks) {
  if (seq_k % kChunkElems != 0) return 0;
  const int64_t per_lane = (seq_k / kChunkElems + 31) / 32;
  for (int k = 1; k <= max_chunks; k *= 2)
    if (per_lane <= k) return k;
  return 0;
}

__device__ __forceinline__ float warp_max(float x) {
  for (int o = 16; o > 0; o /= 2) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}

__device__ __forceinline__ float warp_sum(float x) {
  for (int o = 16; o > 0; o /= 2) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

template <typename E, int kChunks>
struct RegisterRow {
  E* row;
  int chunks, lane;  // chunks in the row; this lane's first
  uint4 v[kChunks];

  __device__ RegisterRow(E* row_, int64_t seq_k, int lane_)
      : row(row_), chunks(int(seq_k / kChunkElems)), lane(lane_) {
    const uint4* src = reinterpret_cast<const uint4*>(row);
#pragma unroll
    for (int k = 0; k < kChunks; ++k)
      if (present(k)) v[k] = src[lane + 32 * k];
  }
  __device__ bool present(int k) const {
    return lane + 32 * k < chunks;
  }

  template <typename F>
  __device__ void for_each(F&& f) {
#pragma unroll
    for (int k = 0; k < kChunks; ++k)
      if (present(k)) {
        E* e = reinterpret_cast<E*>(&v[k]);
#pragma unroll
        for (int i = 0; i < kChunkElems; ++i) f(e[i]);
      }
  }
  template <typename Other, typename F>
  __device__ void for_each_with(Other& other, F&& f) {
#pragma unroll
    for (int k = 0; k < kChunks; ++k)
      if (present(k)) {
        E* e = reinterpret_cast<E*>(&v[k]);
        auto* o = reinterpret_cast<typename Other::Elem*>(&other.v[k]);
#pragma unroll
        for (int i = 0; i < kChunkElems; ++i) f(e[i], o[i]);
      }
  }
  __device__ void store() const {
    uint4* dst = reinterpret_cast<uint4*>(row);
#pragma unroll
    for (int k = 0; k < kChunks; ++k)
      if (present(k)) dst[lane + 32 * k] = v[k];
  }
  using Elem = E;
};

template <typename E>
struct GlobalRow {
  E* row;
  int64_t seq_k;
  int lane;

  __device__ GlobalRow(E* row_, int64_t seq_k_, int lane_)
      : row(row_), seq_k(seq_k_), lane(lane_) {}

  template <typename F>
  __device__ void for_each(F&& f) {
    for (int64_t c = lane; c < seq_k; c += 32) f(row[c]);
  }
  template <typename Other, typename F>
  __device__ void for_each_with(Other& other, F&& f) {
    for (int64_t c = lane; c < seq_k; c += 32) f(row[c], other.row[c]);
  }
  __device__ void store() const {}  // every write went to HBM already
  using Elem = E;
};

// The row type for a chunks_per_lane value, 0 meaning GlobalRow.
template <typename E, int kChunks>
struct RowFor {
  using type = RegisterRow<E, kChunks>;
};
template <typename E>
struct RowFor<E, 0> {
  using type = GlobalRow<E>;
};

}  // namespace flashlab::cuda::naive_rows
