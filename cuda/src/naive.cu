// The naive baseline: standard attention the way a framework runs it (FA1 Alg. 0 forward,
// FA1 Alg. 3 backward). cuBLAS GEMMs for the products, and one separate kernel per elementwise
// step (mask, softmax, dropout and their backwards), each a full HBM round trip over an N x N
// matrix that is materialized in the workspace. This is what FlashAttention is measured against.
//
// Test: tests/gpu/backward_test.cpp ("naive baseline ..."). Benchmark:
// build/gpu/bench/flashlab-gpu-bench (rows "naive").
#include <cublas_v2.h>

#include <flashlab/cuda/api.hpp>

#include "check.hpp"
#include "device_mask.hpp"
#include "mma.cuh"
#include "naive_rows.cuh"
#include "static_switch.hpp"
#include "validate.hpp"

namespace flashlab::cuda {
namespace {

#define FLASHLAB_CUBLAS_CHECK(call)                                            \
  do {                                                                         \
    const cublasStatus_t flashlab_cublas_ = (call);                            \
    if (flashlab_cublas_ != CUBLAS_STATUS_SUCCESS)                             \
      throw ::flashlab::Error(std::string("cuBLAS error in ") + #call + ": " + \
                              cublasGetStatusString(flashlab_cublas_));        \
  } while (0)

cublasHandle_t cublas_handle(cudaStream_t stream) {
  thread_local cublasHandle_t handle = nullptr;  // created once per thread, never per call
  if (!handle) FLASHLAB_CUBLAS_CHECK(cublasCreate(&handle));
  FLASHLAB_CUBLAS_CHECK(cublasSetStream(handle, stream));
  return handle;
}

// One matrix product per (batch, head) in row-major terms: C = alpha * op(A) op(B), where the
// caller gives the column-major cuBLAS view (row-major X is column-major X^T).
struct Gemm {
  cublasOperation_t op_a, op_b;
  int m, n, k;
  const void* a;
  int lda;
  int64_t stride_a;
  const void* b;
  int ldb;
  int64_t stride_b;
  void* c;
  int ldc;
  int64_t stride_c;
  float alpha;
};

// cuBLAS's name for the element type of fp16 and bf16 calls (validate_naive refuses the others).
cudaDataType_t cublas_type(DType dtype) {
  return dtype == DType::F16 ? CUDA_R_16F : CUDA_R_16BF;
}

void run_gemm(const Gemm& g, cudaDataType_t type, int batch, cudaStream_t stream) {
  const float beta = 0.f;
  FLASHLAB_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      cublas_handle(stream), g.op_a, g.op_b, g.m, g.n, g.k, &g.alpha, g.a, type, g.lda, g.stride_a,
      g.b, type, g.ldb, g.stride_b, &beta, g.c, type, g.ldc, g.stride_c, batch, CUBLAS_COMPUTE_32F,
      CUBLAS_GEMM_DEFAULT));
}

struct Dims {
  int64_t heads, seq_q, seq_k;
};

// Mask pass: S_ij = -inf where (i, j) may not attend (FA1 Alg. 0 with FA1 Alg. 2 l. 11's mask),
// a warp per row: one 64-bit division per row, not two per element.
template <typename Elem>
__global__ void mask_kernel(Elem* __restrict__ S, Dims dims, MaskParams mask, int64_t rows) {
  naive_rows::for_each_row<1>(rows, dims.seq_k, [&](int64_t row, int64_t seq_k, int lane) {
    const int64_t i = row % dims.seq_q;
    Elem* s = S + row * dims.seq_k;
    for (int64_t c = lane; c < seq_k; c += 32)
      if (!mask.allows(i, c)) s[c] = Elem(-INFINITY);
  });
}

struct MaxOf {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct SumOf {
  __device__ float operator()(float a, float b) const { return a + b; }
};

// Softmax pass: P = softmax(S) in place, and the row logsumexp (FA1 Alg. 0 l. 2). Rows of shape
// kShape (naive_rows.cuh): in registers, read once as FA1 Alg. 0 counts, or left in HBM, each of
// the three sweeps reading them again.
template <typename Elem, int kShape>
__global__ void __launch_bounds__(256)
    softmax_kernel(Elem* __restrict__ S, float* __restrict__ lse, Dims dims, int64_t rows) {
  constexpr int kWarps = naive_rows::warps_of(kShape);
  naive_rows::for_each_row<kWarps>(rows, dims.seq_k, [&](int64_t row, int64_t seq_k, int part) {
    typename naive_rows::RowFor<Elem, kShape>::type s(S + row * dims.seq_k, seq_k, part);
    float m = -INFINITY;
    s.for_each([&](Elem& x) { m = fmaxf(m, float(x)); });
    m = naive_rows::row_reduce<kWarps>(m, MaxOf{});
    const float m_use = m == -INFINITY ? 0.f : m;
    float l = 0.f;
    s.for_each([&](Elem& x) { l += __expf(float(x) - m_use); });
    l = naive_rows::row_reduce<kWarps>(l, SumOf{});
    const float inv_l = l > 0.f ? 1.f / l : 0.f;  // fully masked row: P = 0, lse = -inf
    s.for_each([&](Elem& x) { x = Elem(__expf(float(x) - m_use) * inv_l); });
    s.store();
    if (seq_k > 0 && part == 0) lse[row] = l > 0.f ? m + logf(l) : -INFINITY;  // not past the end
  });
}

// Dropout pass: out = in ∘ Z with the core's Philox mask (FA1 Alg. 4 l. 14).
template <typename Elem>
__global__ void dropout_kernel(const Elem* in, Elem* out,  // may alias (in-place backward)
                               Dims dims, DropoutParams dropout, float keep_scale, int64_t n) {
  for (int64_t x = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; x < n;
       x += int64_t(gridDim.x) * blockDim.x) {
    const int64_t col = x % dims.seq_k, row = (x / dims.seq_k) % dims.seq_q;
    const int64_t bh = x / (dims.seq_k * dims.seq_q);
    const bool keep = dropout_keep(dropout, bh / dims.heads, bh % dims.heads, row, col);
    out[x] = Elem(keep ? float(in[x]) * keep_scale : 0.f);
  }
}

// Softmax backward (FA1 Alg. 3 l. 3): dS = P ∘ (dP - rowsum(P ∘ dP)) in place of dP, the rows of
// P and dP of shape kShape (naive_rows.cuh).
template <typename Elem, int kShape>
__global__ void __launch_bounds__(256)
    softmax_backward_kernel(const Elem* __restrict__ P, Elem* __restrict__ dP, Dims dims,
                            int64_t rows) {
  constexpr int kWarps = naive_rows::warps_of(kShape);
  naive_rows::for_each_row<kWarps>(rows, dims.seq_k, [&](int64_t row, int64_t seq_k, int part) {
    typename naive_rows::RowFor<const Elem, kShape>::type p(P + row * dims.seq_k, seq_k, part);
    typename naive_rows::RowFor<Elem, kShape>::type dp(dP + row * dims.seq_k, seq_k, part);
    float D = 0.f;
    dp.for_each_with(p, [&](Elem& g, const Elem& x) { D += float(x) * float(g); });
    D = naive_rows::row_reduce<kWarps>(D, SumOf{});
    dp.for_each_with(p, [&](Elem& g, const Elem& x) { g = Elem(float(x) * (float(g) - D)); });
    dp.store();
  });
}

// The row shapes each pass is built for (naive_rows.cuh), every one row_shape can return: an HBM
// row, one warp with 1-4 chunks per lane, 2 and 4 warps with 4 (row_shape adds warps before
// chunks), 8 warps with 4 and more. The softmax holds one row, up to 8 warps x 16 chunks (32768
// columns); its backward two rows, up to 8 chunks (16384 columns).
using naive_rows::shape_code;
inline constexpr int kSoftmaxShapes[] = {shape_code(1, 0), shape_code(1, 1), shape_code(1, 2),
                                         shape_code(1, 4), shape_code(2, 4), shape_code(4, 4),
                                         shape_code(8, 4), shape_code(8, 8), shape_code(8, 16)};
inline constexpr int kSoftmaxBackwardShapes[] = {
    shape_code(1, 0), shape_code(1, 1), shape_code(1, 2), shape_code(1, 4),
    shape_code(2, 4), shape_code(4, 4), shape_code(8, 4), shape_code(8, 8)};

// f(std::integral_constant<int, code>{}) with the row shape of kShapes for seq_k columns.
template <const auto& kShapes, typename F>
void switch_row_shape(int64_t seq_k, F&& f) {
  const int max_chunks = naive_rows::chunks_of(kShapes[std::size(kShapes) - 1]);
  if (!switch_value<kShapes>(naive_rows::row_shape(seq_k, max_chunks), f))
    throw Error("internal error: no naive row pass for seq_k " + std::to_string(seq_k));
}

unsigned grid_for(int64_t n, int threads) {
  return unsigned(std::min<int64_t>((n + threads - 1) / threads, 1 << 20));
}

// The workspace: P (the softmax, kept for the backward), P∘Z (with dropout), dP/dS (backward).
struct Workspace {
  void* P;
  void* P_dropped;
  void* dS;
};

Workspace split_workspace(const AttentionShape& shape, DType dtype, void* workspace) {
  const int64_t bytes =
      shape.batch * shape.heads * shape.seq_q * shape.seq_k * element_bytes(dtype);
  char* base = static_cast<char*>(workspace);
  return {base, base + bytes, base + 2 * bytes};
}

template <typename Elem>
void forward(const AttentionShape& s, const AttentionParams& params, const ForwardArgs& args,
             const Workspace& w, cudaDataType_t type, cudaStream_t stream) {
  const int batch = int(s.batch * s.heads), nq = int(s.seq_q), nk = int(s.seq_k),
            d = int(s.head_dim);
  const Dims dims{s.heads, s.seq_q, s.seq_k};
  const int64_t n = int64_t(batch) * nq * nk, rows = int64_t(batch) * nq;
  // FA1 Alg. 0 l. 1: S = tau Q K^T, written to HBM.
  run_gemm({CUBLAS_OP_T, CUBLAS_OP_N, nk, nq, d, args.k, d, int64_t(nk) * d, args.q, d,
            int64_t(nq) * d, w.P, nk, int64_t(nq) * nk, float(params.scale)},
           type, batch, stream);
  if (params.mask.causal || params.mask.block.layout) {
    mask_kernel<Elem><<<grid_for(rows * 32, 256), 256, 0, stream>>>(static_cast<Elem*>(w.P), dims,
                                                                    params.mask, rows);
    FLASHLAB_CUDA_CHECK_LAUNCH();
  }
  // FA1 Alg. 0 l. 2: P = softmax(S), read from and written to HBM.
  switch_row_shape<kSoftmaxShapes>(nk, [&](auto shape) {
    softmax_kernel<Elem, decltype(shape)::value><<<grid_for(rows * 32, 256), 256, 0, stream>>>(
        static_cast<Elem*>(w.P), args.lse, dims, rows);
  });
  FLASHLAB_CUDA_CHECK_LAUNCH();
  const void* P_used = w.P;
  if (params.dropout.enabled) {
    dropout_kernel<Elem><<<grid_for(n, 256), 256, 0, stream>>>(
        static_cast<const Elem*>(w.P), static_cast<Elem*>(w.P_dropped), dims, params.dropout,
        float(params.dropout.keep_scale), n);
    FLASHLAB_CUDA_CHECK_LAUNCH();
    P_used = w.P_dropped;
  }
  // FA1 Alg. 0 l. 3: O = P V.
  run_gemm({CUBLAS_OP_N, CUBLAS_OP_N, d, nq, nk, args.v, d, int64_t(nk) * d, P_used, nk,
            int64_t(nq) * nk, args.o, d, int64_t(nq) * d, 1.f},
           type, batch, stream);
}

template <typename Elem>
void backward(const AttentionShape& s, const AttentionParams& params, const BackwardArgs& args,
              const Workspace& w, cudaDataType_t type, cudaStream_t stream) {
  const int batch = int(s.batch * s.heads), nq = int(s.seq_q), nk = int(s.seq_k),
            d = int(s.head_dim);
  const Dims dims{s.heads, s.seq_q, s.seq_k};
  const int64_t n = int64_t(batch) * nq * nk, rows = int64_t(batch) * nq;
  const void* P_used = params.dropout.enabled ? w.P_dropped : w.P;
  // FA1 Alg. 3 l. 1: dV = (P∘Z)^T dO.
  run_gemm({CUBLAS_OP_N, CUBLAS_OP_T, d, nk, nq, args.d_o, d, int64_t(nq) * d, P_used, nk,
            int64_t(nq) * nk, args.dv, d, int64_t(nk) * d, 1.f},
           type, batch, stream);
  // FA1 Alg. 3 l. 2: dP = dO V^T, then the dropout backward dP ∘ Z.
  run_gemm({CUBLAS_OP_T, CUBLAS_OP_N, nk, nq, d, args.v, d, int64_t(nk) * d, args.d_o, d,
            int64_t(nq) * d, w.dS, nk, int64_t(nq) * nk, 1.f},
           type, batch, stream);
  if (params.dropout.enabled) {
    dropout_kernel<Elem><<<grid_for(n, 256), 256, 0, stream>>>(
        static_cast<const Elem*>(w.dS), static_cast<Elem*>(w.dS), dims, params.dropout,
        float(params.dropout.keep_scale), n);
    FLASHLAB_CUDA_CHECK_LAUNCH();
  }
  // FA1 Alg. 3 l. 3: dS = P ∘ (dP - rowsum(P ∘ dP)).
  switch_row_shape<kSoftmaxBackwardShapes>(nk, [&](auto shape) {
    softmax_backward_kernel<Elem, decltype(shape)::value>
        <<<grid_for(rows * 32, 256), 256, 0, stream>>>(static_cast<const Elem*>(w.P),
                                                       static_cast<Elem*>(w.dS), dims, rows);
  });
  FLASHLAB_CUDA_CHECK_LAUNCH();
  // FA1 Alg. 3 l. 4–5: dQ = tau dS K, dK = tau dS^T Q.
  run_gemm({CUBLAS_OP_N, CUBLAS_OP_N, d, nq, nk, args.k, d, int64_t(nk) * d, w.dS, nk,
            int64_t(nq) * nk, args.dq, d, int64_t(nq) * d, float(params.scale)},
           type, batch, stream);
  run_gemm({CUBLAS_OP_N, CUBLAS_OP_T, d, nk, nq, args.q, d, int64_t(nq) * d, w.dS, nk,
            int64_t(nq) * nk, args.dk, d, int64_t(nk) * d, float(params.scale)},
           type, batch, stream);
}

void validate_naive(const AttentionShape& shape, const AttentionOptions& options, DType dtype,
                    const char* entry) {
  validate(options, shape);
  require(dtype == DType::F16 || dtype == DType::BF16,
          std::string(entry) + ": dtype " + to_string(dtype) +
              " is not supported; accepted: fp16, bf16");
  require(shape.seq_q * shape.seq_k < (int64_t{1} << 31) && shape.head_dim < (int64_t{1} << 31),
          std::string(entry) + ": shape " + to_string(shape) +
              " is too large for one cuBLAS batch entry");
}

}  // namespace

int64_t naive_workspace_bytes(const AttentionShape& shape, DType dtype, bool backward) {
  return (backward ? 3 : 2) * shape.batch * shape.heads * shape.seq_q * shape.seq_k *
         element_bytes(dtype);
}

void naive_forward(const AttentionShape& shape, const AttentionOptions& options, DType dtype,
                   const ForwardArgs& args, void* workspace, cudaStream_t stream) {
  validate_naive(shape, options, dtype, "naive_forward");
  validate_forward_args(args, DType::F32);  // cuBLAS needs only element alignment
  require_no_tile_log(args.tile_log, "naive_forward");
  require_device_pointer(workspace, "workspace", 16);
  DeviceMask mask(options, stream);
  AttentionParams params = make_params(options, shape);
  params.mask.block = mask.view();
  const Workspace w = split_workspace(shape, dtype, workspace);
  switch_dtype(dtype, [&](auto elem) {
    forward<typename decltype(elem)::type>(shape, params, args, w, cublas_type(dtype), stream);
  });
}

void naive_backward(const AttentionShape& shape, const AttentionOptions& options, DType dtype,
                    const BackwardArgs& args, void* workspace, cudaStream_t stream) {
  validate_naive(shape, options, dtype, "naive_backward");
  validate_backward_args(args, DType::F32);
  require_no_tile_log(args.tile_log, "naive_backward");
  require_device_pointer(workspace, "workspace", 16);
  AttentionParams params = make_params(options, shape);
  const Workspace w = split_workspace(shape, dtype, workspace);
  switch_dtype(dtype, [&](auto elem) {
    backward<typename decltype(elem)::type>(shape, params, args, w, cublas_type(dtype), stream);
  });
}

}  // namespace flashlab::cuda
