// measure_dropout_draws_per_s: the kernels' dropout draw (Philox call and threshold) in a loop.
#include <cuda_runtime.h>

#include <flashlab/core/dropout.hpp>
#include <flashlab/cuda/device_buffer.hpp>
#include <flashlab/cuda/dropout_draw_rate.hpp>
#include <flashlab/cuda/event_timer.hpp>

#include "check.hpp"
#include "dropout_bits.cuh"

namespace flashlab::cuda {
namespace {

constexpr int kChains = 8;  // independent calls per iteration, as a lane's pairs of tiles give

// Thread t draws the calls of row t, columns 8 (kChains i + k), the attention kernels' counters;
// the keep bits are folded into one word that is stored where it is never equal to the test
// value, so that no draw can be removed.
__global__ void dropout_draw_kernel(DropoutParams d, int iters, uint32_t* __restrict__ sink) {
  const int row = blockIdx.x * blockDim.x + threadIdx.x;
  uint32_t bits = 0;
  for (int i = 0; i < iters; ++i)
#pragma unroll
    for (int k = 0; k < kChains; ++k) {
      const int col = 8 * (kChains * i + k);
      bits ^= keep_byte(dropout_random_words(d, 0, blockIdx.y, row, col), d.drop_below) << k;
    }
  if (bits == 0x12345678u) *sink = bits;
}

}  // namespace

double measure_dropout_draws_per_s() {
  int dev = 0, sms = 0;
  FLASHLAB_CUDA_CHECK(cudaGetDevice(&dev));
  FLASHLAB_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  DeviceBuffer sink(sizeof(uint32_t));
  const DropoutParams d = make_dropout(0.1, 0x5EEDull);
  const int iters = 512, threads = 256;
  const dim3 grid(sms * 8, 1);  // 8 blocks of 256 threads fill an SM: one wave
  const double ms = median_event_ms(
      [&] { dropout_draw_kernel<<<grid, threads>>>(d, iters, sink.as<uint32_t>()); },
      {3, 20, 20, 0});
  FLASHLAB_CUDA_CHECK_LAUNCH();
  const double draws = double(grid.x) * threads * iters * kChains;
  return draws / (ms * 1e-3);
}

}  // namespace flashlab::cuda
