// Debug path for dropout: the keep mask of one (batch, head) as the GPU computes it, so tests can
// compare it bit for bit with the CPU's and measure the keep rate (tests/gpu/backward_test.cpp,
// "dropout on the GPU drops exactly the reference's elements at rate p").
#include <flashlab/cuda/api.hpp>

#include "check.hpp"
#include "validate.hpp"

namespace flashlab::cuda {
namespace {

__global__ void dropout_mask_kernel(DropoutParams dropout, int64_t b, int64_t h, int64_t seq_q,
                                    int64_t seq_k, uint8_t* __restrict__ keep) {
  for (int64_t x = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; x < seq_q * seq_k;
       x += int64_t(gridDim.x) * blockDim.x)
    keep[x] = dropout_keep(dropout, b, h, x / seq_k, x % seq_k) ? 1 : 0;
}

}  // namespace

void dropout_keep_mask(const AttentionShape& shape, const AttentionOptions& options, int64_t batch,
                       int64_t head, uint8_t* keep, cudaStream_t stream) {
  const AttentionParams params = make_params(options, shape);
  require(batch >= 0 && batch < shape.batch && head >= 0 && head < shape.heads,
          "dropout_keep_mask: (batch, head) outside shape " + to_string(shape));
  require_device_pointer(keep, "keep", 1);
  const int64_t n = shape.seq_q * shape.seq_k;
  dropout_mask_kernel<<<unsigned(std::min<int64_t>((n + 255) / 256, 65535)), 256, 0, stream>>>(
      params.dropout, batch, head, shape.seq_q, shape.seq_k, keep);
  FLASHLAB_CUDA_CHECK_LAUNCH();
}

}  // namespace flashlab::cuda
