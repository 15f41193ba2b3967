// Debug path for dropout: the keep mask of one (batch, head) as the GPU computes it, one element
// per thread or in the fused kernels' fragment layouts (dropout_bits.cuh), so tests can compare
// it bit for bit with the CPU's and measure the keep rate (tests/gpu/backward_test.cpp,
// "dropout on the GPU drops exactly the reference's elements at rate p").
#include <algorithm>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/cuda/api.hpp>

#include "check.hpp"
#include "dropout_bits.cuh"
#include "validate.hpp"

namespace flashlab::cuda {
namespace {

__global__ void dropout_mask_kernel(DropoutParams dropout, int64_t b, int64_t h, int64_t seq_q,
                                    int64_t seq_k, uint8_t* __restrict__ keep) {
  for (int64_t x = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; x < seq_q * seq_k;
       x += int64_t(gridDim.x) * blockDim.x)
    keep[x] = dropout_keep(dropout, b, h, x / seq_k, x % seq_k) ? 1 : 0;
}

// The fragment tiles of one warp: two 16-row m-tiles (as the mma.sync forward's at d >= 96) of
// eight 8-column tiles in the forward, sixteen 8-query tiles of 16 keys in the backward, so that
// the keep bits fill two words.
constexpr int kFwdMTiles = 2, kFwdNTiles = 8, kBwdQTiles = 16;

// One warp per 32 query rows x 64 keys (blockIdx.x: rows, blockIdx.y: keys).
__global__ void forward_fragments_kernel(DropoutParams dropout, int b, int h, int seq_q, int seq_k,
                                         uint8_t* __restrict__ keep) {
  const int lane = int(threadIdx.x), r_lo = int(blockIdx.x) * 32 + lane / 4;
  const int col0 = int(blockIdx.y) * 64;
  const KeepBits<kFwdMTiles* kFwdNTiles> bits =
      fwd::dropout_keep_bits<kFwdMTiles, kFwdNTiles>(dropout, b, h, r_lo, col0, lane);
  for (int mt = 0; mt < kFwdMTiles; ++mt)
    for (int t = 0; t < kFwdNTiles; ++t)
      for (int e = 0; e < 4; ++e) {
        const int row = r_lo + 16 * mt + 8 * (e / 2), col = col0 + 8 * t + 2 * (lane % 4) + e % 2;
        if (row < seq_q && col < seq_k)
          keep[int64_t(row) * seq_k + col] = bits.keep(mt * kFwdNTiles + t, e) ? 1 : 0;
      }
}

// One warp per 16 keys x 128 queries (blockIdx.x: keys, blockIdx.y: queries).
__global__ void backward_fragments_kernel(DropoutParams dropout, int b, int h, int seq_q, int seq_k,
                                          uint8_t* __restrict__ keep) {
  const int lane = int(threadIdx.x), key_lo = int(blockIdx.x) * 16 + lane / 4;
  const int row0 = int(blockIdx.y) * 8 * kBwdQTiles;
  const KeepBits<kBwdQTiles> bits =
      bwd::dropout_keep_bits_transposed<kBwdQTiles>(dropout, b, h, key_lo, row0, lane);
  for (int t = 0; t < kBwdQTiles; ++t)
    for (int e = 0; e < 4; ++e) {
      const int key = key_lo + 8 * (e / 2), row = row0 + 8 * t + 2 * (lane % 4) + e % 2;
      if (row < seq_q && key < seq_k) keep[int64_t(row) * seq_k + key] = bits.keep(t, e) ? 1 : 0;
    }
}

}  // namespace

void dropout_keep_mask(const AttentionShape& shape, const AttentionOptions& options, int64_t batch,
                       int64_t head, uint8_t* keep, cudaStream_t stream, DropoutMaskPath path) {
  const AttentionParams params = make_params(options, shape);
  require(batch >= 0 && batch < shape.batch && head >= 0 && head < shape.heads,
          "dropout_keep_mask: (batch, head) outside shape " + to_string(shape));
  require_device_pointer(keep, "keep", 1);
  const int64_t n = shape.seq_q * shape.seq_k;
  const int b = int(batch), h = int(head), seq_q = int(shape.seq_q), seq_k = int(shape.seq_k);
  switch (path) {
    case DropoutMaskPath::Element:
      dropout_mask_kernel<<<unsigned(std::min<int64_t>((n + 255) / 256, 65535)), 256, 0, stream>>>(
          params.dropout, batch, head, shape.seq_q, shape.seq_k, keep);
      break;
    case DropoutMaskPath::ForwardFragments:
      forward_fragments_kernel<<<dim3(unsigned(ceil_div(seq_q, 32)), unsigned(ceil_div(seq_k, 64))),
                                 32, 0, stream>>>(params.dropout, b, h, seq_q, seq_k, keep);
      break;
    case DropoutMaskPath::BackwardFragments:
      backward_fragments_kernel<<<dim3(unsigned(ceil_div(seq_k, 16)),
                                       unsigned(ceil_div(seq_q, 8 * kBwdQTiles))),
                                  32, 0, stream>>>(params.dropout, b, h, seq_q, seq_k, keep);
      break;
  }
  FLASHLAB_CUDA_CHECK_LAUNCH();
}

}  // namespace flashlab::cuda
