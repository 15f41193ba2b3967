// The rows of an N x N matrix in HBM (S, P, dP of the naive baseline) as the row-wise passes of
// standard attention see them (the softmax, FA1 Alg. 0 l. 2, and its backward, FA1 Alg. 3 l. 3).
// Two ways to hold a row, with one interface, so that each pass is written once:
//   RegisterRow<E, kChunks, kWarps>  the row in the registers of kWarps warps of one block, read
//                                    from HBM once with 16-byte loads and written back by
//                                    store(): what FA1 Alg. 0 counts (read S once, write P once);
//   GlobalRow<E>                     the row left in HBM, one warp's every sweep reading it again
//                                    (rows not 16-byte aligned, or too long for the registers):
//                                    the L2 catches the re-reads only while the rows in flight
//                                    fit it.
// E may be const (a row that is only read). for_each(f) calls f(E&) on every element the thread
// holds; for_each_with(other, f) calls f(E&, F&) on the elements of two rows of the same length,
// column by column. row_reduce combines the threads' partial results into the row's.
#pragma once

#include <cstdint>

namespace flashlab::cuda::naive_rows {

constexpr int kChunkElems = 8;  // 16 bytes of 16-bit elements
constexpr int kBlockWarps = 8;  // the passes run blocks of 256 threads

// A row's shape as one int (for switch_value): 100 x warps per row + chunks per lane; chunks 0
// means a GlobalRow (one warp). A row of a RegisterRow holds chunk c at lane c % 32 of warp
// (c / 32) % kWarps, so each warp's loads cover 512 consecutive bytes.
constexpr int shape_code(int warps, int chunks) {
  return 100 * warps + chunks;
}
constexpr int warps_of(int code) {
  return code / 100;
}
constexpr int chunks_of(int code) {
  return code % 100;
}

// The shape a row of seq_k columns takes: registers where seq_k is a multiple of 8, with as few
// warps (up to 8) as give each lane at most 4 chunks, and at most max_chunks chunks per lane with
// 8 warps; else a GlobalRow. Few chunks per lane keep the registers a thread needs low, so that
// many warps per SM have loads in flight.
inline int row_shape(int64_t seq_k, int max_chunks) {
  if (seq_k % kChunkElems != 0) return shape_code(1, 0);
  const int64_t chunks = seq_k / kChunkElems;
  for (int warps = 1; warps <= kBlockWarps; warps *= 2) {
    const int64_t per_lane = (chunks + 32 * warps - 1) / (32 * warps);
    if (per_lane > 4 && warps < kBlockWarps) continue;
    for (int k = 1; k <= max_chunks; k *= 2)
      if (per_lane <= k) return shape_code(warps, k);
    break;
  }
  return shape_code(1, 0);
}

// The grid's blocks take the rows in turn, kBlockWarps / kWarps rows at a time (a grid-stride
// loop: any number of rows, whatever the grid). f(row, length, part) for each thread: its row and
// the row's length (row 0 and length 0 where the row is past the end) and its place among the
// row's 32 x kWarps threads. Every thread of a block runs the same iterations, so that
// row_reduce's barriers are met.
template <int kWarps, typename F>
__device__ __forceinline__ void for_each_row(int64_t rows, int64_t row_length, F&& f) {
  constexpr int kRowsPerBlock = kBlockWarps / kWarps;
  const int warp = int(threadIdx.x / 32);
  for (int64_t first = int64_t(blockIdx.x) * kRowsPerBlock; first < rows;
       first += int64_t(gridDim.x) * kRowsPerBlock) {
    const int64_t row = first + warp / kWarps;
    const bool active = row < rows;
    f(active ? row : 0, active ? row_length : 0, (warp % kWarps) * 32 + int(threadIdx.x % 32));
  }
}

// The row's value of op over its threads' values: within the warp, then, for kWarps > 1, across
// the row's warps through shared memory (every thread of the block must call it).
template <int kWarps, typename Op>
__device__ __forceinline__ float row_reduce(float x, Op op) {
  for (int o = 16; o > 0; o /= 2) x = op(x, __shfl_xor_sync(0xffffffffu, x, o));
  if constexpr (kWarps > 1) {
    __shared__ float partial[kBlockWarps];
    const int warp = int(threadIdx.x / 32), first = warp - warp % kWarps;
    if (threadIdx.x % 32 == 0) partial[warp] = x;
    __syncthreads();
    x = partial[first];
#pragma unroll
    for (int w = 1; w < kWarps; ++w) x = op(x, partial[first + w]);
    __syncthreads();  // every warp has read partial before the next call writes it
  }
  return x;
}

template <typename E, int kChunks, int kWarps>
struct RegisterRow {
  using Elem = E;
  E* row;
  int chunks, part;  // chunks in the row; this thread's first
  uint4 v[kChunks];

  // seq_k = 0 for a row past the end: the thread holds nothing.
  __device__ RegisterRow(E* row_, int64_t seq_k, int part_)
      : row(row_), chunks(int(seq_k / kChunkElems)), part(part_) {
    const uint4* src = reinterpret_cast<const uint4*>(row);
#pragma unroll
    for (int k = 0; k < kChunks; ++k)
      if (present(k)) v[k] = src[chunk(k)];
  }
  __device__ int chunk(int k) const {
    return part + 32 * kWarps * k;
  }
  __device__ bool present(int k) const {
    return chunk(k) < chunks;
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
      if (present(k)) dst[chunk(k)] = v[k];
  }
};

template <typename E>
struct GlobalRow {
  using Elem = E;
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
};

// The row type of a shape_code.
template <typename E, int kCode, int kChunks = chunks_of(kCode)>
struct RowFor {
  using type = RegisterRow<E, kChunks, warps_of(kCode)>;
};
template <typename E, int kCode>
struct RowFor<E, kCode, 0> {
  static_assert(warps_of(kCode) == 1, "a row left in HBM belongs to one warp");
  using type = GlobalRow<E>;
};

}  // namespace flashlab::cuda::naive_rows
