// The teaching kernel: FA1 Alg. 1 (with FA1 Alg. 2's scale, mask and dropout) transcribed into
// CUDA, fp32, no tensor cores. One thread block per (batch, head), as in FA1. The outer loop runs
// over K/V blocks j, the inner over Q blocks i, and O_i, l_i, m_i travel to and from HBM at every
// step exactly as in the paper (FA1 Alg. 1 l. 8 and 12–13); only the tiles live in shared memory.
// Read it beside simulator/src/algorithms/flash_forward.cpp, the same steps on the simulated GPU.
// The simulator numbers FA1 Alg. 2, whose extra lines (the generator state, the mask, dropout)
// shift the numbers: FA1 Alg. 1 l. 9 (S_ij) is FA1 Alg. 2 l. 10, FA1 Alg. 1 l. 12 (write O_i) is
// FA1 Alg. 2 l. 15.
//
// Test: tests/gpu/flash_forward_test.cpp ("teaching kernel ..."). Benchmark: the lowest rung of
// `flashlab-gpu-bench --ladder` (docs/performance.md, "The ladder"): readable, not fast.
#include <flashlab/core/softmax_state.hpp>
#include <flashlab/cuda/api.hpp>

#include "check.hpp"
#include "device_mask.hpp"
#include "validate.hpp"

namespace flashlab::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxHeadDim = 256;

struct SimpleParams {
  const float* __restrict__ q;
  const float* __restrict__ k;
  const float* __restrict__ v;
  float* __restrict__ o;
  float* __restrict__ lse;  // holds m during the loop (FA1 Alg. 1 l. 13), the logsumexp at the end
  float* __restrict__ l;    // workspace: l of FA1 Alg. 1
  int seq_q, seq_k, d, heads, Br, Bc;
  float scale;
  MaskParams mask;
  DropoutParams dropout;
};

__global__ void __launch_bounds__(kThreads) flash_fwd_simple_kernel(const SimpleParams p) {
  extern __shared__ float smem[];
  const int Br = p.Br, Bc = p.Bc, d = p.d;
  float* Kj = smem;              // Bc x d
  float* Vj = Kj + Bc * d;       // Bc x d
  float* Qi = Vj + Bc * d;       // Br x d
  float* Oi = Qi + Br * d;       // Br x d
  float* Sij = Oi + Br * d;      // Br x Bc: S_ij, then P~_ij
  float* row_m = Sij + Br * Bc;  // Br: m~_ij, then m_i^new
  float* row_l = row_m + Br;     // Br: l~_ij, then l_i^new
  float* row_a = row_l + Br;     // Br: factor on the old O_i
  float* row_b = row_a + Br;     // Br: factor on P~_ij V_j

  const int bh = blockIdx.x, b = bh / p.heads, h = bh % p.heads;
  const float* Q = p.q + int64_t(bh) * p.seq_q * d;
  const float* K = p.k + int64_t(bh) * p.seq_k * d;
  const float* V = p.v + int64_t(bh) * p.seq_k * d;
  float* O = p.o + int64_t(bh) * p.seq_q * d;
  float* m = p.lse + int64_t(bh) * p.seq_q;
  float* l = p.l + int64_t(bh) * p.seq_q;
  const int Tr = (p.seq_q + Br - 1) / Br, Tc = (p.seq_k + Bc - 1) / Bc;

  // FA1 Alg. 1 l. 2: O = 0, l = 0, m = -inf in HBM.
  for (int x = threadIdx.x; x < p.seq_q * d; x += kThreads) O[x] = 0.f;
  for (int x = threadIdx.x; x < p.seq_q; x += kThreads) {
    l[x] = 0.f;
    m[x] = -INFINITY;
  }
  __syncthreads();

  for (int j = 0; j < Tc; ++j) {  // FA1 Alg. 1 l. 5
    const int cols = min(Bc, p.seq_k - j * Bc);
    for (int x = threadIdx.x; x < cols * d; x += kThreads) {  // FA1 Alg. 1 l. 6: K_j, V_j
      Kj[x] = K[int64_t(j) * Bc * d + x];
      Vj[x] = V[int64_t(j) * Bc * d + x];
    }
    for (int i = 0; i < Tr; ++i) {  // FA1 Alg. 1 l. 7
      const int rows = min(Br, p.seq_q - i * Br);
      for (int x = threadIdx.x; x < rows * d; x += kThreads) {  // FA1 Alg. 1 l. 8: Q_i, O_i
        Qi[x] = Q[int64_t(i) * Br * d + x];
        Oi[x] = O[int64_t(i) * Br * d + x];
      }
      __syncthreads();
      // FA1 Alg. 1 l. 9 (with FA1 Alg. 2 l. 10–11's scale and mask): S_ij = tau Q_i K_j^T,
      // masked entries -inf.
      for (int x = threadIdx.x; x < rows * cols; x += kThreads) {
        const int r = x / cols, c = x % cols;
        float s = 0.f;
        for (int e = 0; e < d; ++e) s += Qi[r * d + e] * Kj[c * d + e];
        Sij[r * Bc + c] = p.mask.allows(i * Br + r, j * Bc + c) ? p.scale * s : -INFINITY;
      }
      __syncthreads();
      // FA1 Alg. 1 l. 10–11, one thread per row: m~, P~ = exp(S - m~), l~, then the merge of
      // §3.1 (and FA1 Alg. 2 l. 14's dropout on P~).
      for (int r = threadIdx.x; r < rows; r += kThreads) {
        SoftmaxState<float> tile;
        for (int c = 0; c < cols; ++c) tile.m = fmaxf(tile.m, Sij[r * Bc + c]);
        const float m_safe = tile.m == -INFINITY ? 0.f : tile.m;
        for (int c = 0; c < cols; ++c) {
          const float pt = expf(Sij[r * Bc + c] - m_safe);
          tile.l += pt;  // l~ sums the un-dropped P~ (FA1 Alg. 2)
          const bool keep = dropout_keep(p.dropout, b, h, i * Br + r, j * Bc + c);
          Sij[r * Bc + c] = keep ? pt * float(p.dropout.keep_scale) : 0.f;
        }
        const SoftmaxState<float> old{m[i * Br + r], l[i * Br + r]};
        const SoftmaxState<float> updated = merge(old, tile);
        // FA1 Alg. 1 l. 12's factors: diag(l_new)^-1 (diag(l_i) e^{m_i - m_new} O_i +
        // e^{m~ - m_new} P~V).
        const float inv_l = updated.l > 0.f ? 1.f / updated.l : 0.f;
        row_a[r] = old.l * rescale_factor(old.m, updated.m) * inv_l;
        row_b[r] = rescale_factor(tile.m, updated.m) * inv_l;
        row_m[r] = updated.m;
        row_l[r] = updated.l;
      }
      __syncthreads();
      // FA1 Alg. 1 l. 12: write O_i <- a * O_i + b * P~_ij V_j to HBM.
      for (int x = threadIdx.x; x < rows * d; x += kThreads) {
        const int r = x / d, e = x % d;
        float pv = 0.f;
        for (int c = 0; c < cols; ++c) pv += Sij[r * Bc + c] * Vj[c * d + e];
        O[int64_t(i) * Br * d + x] = row_a[r] * Oi[x] + row_b[r] * pv;
      }
      // FA1 Alg. 1 l. 13: write l_i <- l_new, m_i <- m_new to HBM.
      for (int r = threadIdx.x; r < rows; r += kThreads) {
        m[i * Br + r] = row_m[r];
        l[i * Br + r] = row_l[r];
      }
      __syncthreads();
    }
  }
  // Return the logsumexp L = m + log l in place of m (what the backward needs).
  for (int x = threadIdx.x; x < p.seq_q; x += kThreads)
    m[x] = logsumexp(SoftmaxState<float>{m[x], l[x]});
}

}  // namespace

void flash_forward_simple(const AttentionShape& shape, const AttentionOptions& options,
                          const ForwardArgs& args, cudaStream_t stream) {
  validate(options, shape);
  require(shape.head_dim <= kMaxHeadDim, "flash_forward_simple: head_dim " +
                                             std::to_string(shape.head_dim) +
                                             " is not supported; accepted: 1 to 256");
  require(
      shape.batch * shape.heads < (int64_t{1} << 31) &&
          shape.seq_q * shape.head_dim < (int64_t{1} << 31),
      "flash_forward_simple: shape " + to_string(shape) + " is too large for the teaching kernel");
  validate_forward_args(args, DType::F32);
  require_no_tile_log(args.tile_log, "flash_forward_simple");
  DeviceMask mask(options, stream);
  SimpleParams p{};
  p.q = static_cast<const float*>(args.q);
  p.k = static_cast<const float*>(args.k);
  p.v = static_cast<const float*>(args.v);
  p.o = static_cast<float*>(args.o);
  p.lse = args.lse;
  p.seq_q = int(shape.seq_q);
  p.seq_k = int(shape.seq_k);
  p.d = int(shape.head_dim);
  p.heads = int(shape.heads);
  // 16 x 16 tiles keep the shared memory under the default 48 KB up to d = 128; 8 x 8 above.
  p.Br = p.Bc = shape.head_dim <= 128 ? 16 : 8;
  const AttentionParams params = make_params(options, shape);
  p.scale = float(params.scale);
  p.mask = params.mask;
  p.mask.block = mask.view();
  p.dropout = params.dropout;
  float* l_buffer = nullptr;
  FLASHLAB_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&l_buffer),
                                      size_t(shape.lse_elements()) * sizeof(float), stream));
  p.l = l_buffer;
  const size_t smem =
      size_t(2 * p.Bc * p.d + 2 * p.Br * p.d + p.Br * p.Bc + 4 * p.Br) * sizeof(float);
  flash_fwd_simple_kernel<<<unsigned(shape.batch * shape.heads), kThreads, smem, stream>>>(p);
  const cudaError_t launch = cudaGetLastError();
  FLASHLAB_CUDA_CHECK(cudaFreeAsync(l_buffer, stream));
  FLASHLAB_CUDA_CHECK(launch);
}

}  // namespace flashlab::cuda
