// flashlab-gpu-calls: runs each attention call once per shape, fenced by a marker kernel before
// and after, for Nsight Compute to profile (bench/validate_model.sh): the DRAM bytes, L2 bytes and
// kernel times it records are what the simulator's performance model is validated against.
// Writes a manifest (one record per call, in launch order, with the kernel's real tiles) so that
// bench/ncu_collect.py can give each fenced group of kernels its shape. --dropout P runs every call
// with dropout on P (the records say so: the model then counts dropout's draws).
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <flashlab/cuda/api.hpp>
#include <flashlab/cuda/device_buffer.hpp>

#include "bench_args.hpp"

namespace {

using namespace flashlab;

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(std::string(what) + ": " + cudaGetErrorString(e));
}

// The fence between calls: ncu_collect.py splits the profiled kernels at every launch of it.
__global__ void flashlab_marker_kernel() {}

void marker() {
  flashlab_marker_kernel<<<1, 32>>>();
  check(cudaGetLastError(), "marker");
  check(cudaDeviceSynchronize(), "marker sync");
}

// Uniform values in [-1, 1) as fp16 (fresh data: zeros would exercise a different machine).
void fill_random(void* dst, int64_t n, uint64_t seed) {
  std::vector<__half> host(static_cast<size_t>(n));
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (__half& h : host) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    h = __float2half_rn(float(state >> 40) / float(1 << 23) - 1.f);
  }
  check(cudaMemcpy(dst, host.data(), size_t(n) * 2, cudaMemcpyHostToDevice), "cudaMemcpy");
}

struct Call {
  std::string call;  // fused_fwd, fused_bwd, naive_fwd, naive_bwd
  AttentionShape shape;
  bool causal;
  std::string kernel;  // wgmma, mma.sync, cublas
  TileSizes tiles;
  bool softmax_under_matmul = false;  // cuda::flash_forward_overlaps_softmax: "schedule"
  bool kept_max = false;              // cuda::flash_forward_keeps_max: "softmax"
  double dropout = 0;                 // the dropout probability it ran with
};

// Rewritten after every call, so a run stopped at a time limit keeps what it did.
void write_manifest(const std::string& path, const std::string& gpu, int sms,
                    const std::vector<Call>& calls) {
  std::ofstream out(path);
  out << "{\"gpu\":\"" << gpu << "\",\"sm_count\":" << sms << ",\"calls\":[\n";
  for (size_t i = 0; i < calls.size(); ++i) {
    const Call& c = calls[i];
    out << "{\"call\":\"" << c.call << "\",\"B\":" << c.shape.batch << ",\"H\":" << c.shape.heads
        << ",\"N\":" << c.shape.seq_q << ",\"d\":" << c.shape.head_dim
        << ",\"causal\":" << (c.causal ? "true" : "false") << ",\"kernel\":\"" << c.kernel
        << "\",\"Br\":" << c.tiles.block_rows << ",\"Bc\":" << c.tiles.block_cols
        << ",\"schedule\":\"" << (c.softmax_under_matmul ? "overlapped" : "serial")
        << "\",\"softmax\":\"" << (c.kept_max ? "kept-max" : "fa2")
        << "\",\"dropout\":" << c.dropout << "}" << (i + 1 < calls.size() ? ",\n" : "\n");
  }
  out << "]}\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> seqs{512, 1024, 2048, 4096, 8192, 16384}, dims{64, 128};
  std::vector<AttentionShape> extra;  // --shape B,H,N,d (e.g. the default compare problem)
  std::string manifest_path = "calls.json";
  double naive_limit_gib = 40;
  double dropout_p = 0;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--seqs" && i + 1 < argc) {
        seqs = bench::parse_int_list(argv[++i]);
      } else if (a == "--dims" && i + 1 < argc) {
        dims = bench::parse_int_list(argv[++i]);
      } else if (a == "--shape" && i + 1 < argc) {
        const auto v = bench::parse_int_list(argv[++i]);
        if (v.size() != 4) throw Error("--shape takes B,H,N,d");
        extra.push_back({v[0], v[1], v[2], v[2], v[3]});
      } else if (a == "--manifest" && i + 1 < argc) {
        manifest_path = argv[++i];
      } else if (a == "--naive-limit-gib" && i + 1 < argc) {
        naive_limit_gib = std::atof(argv[++i]);
      } else if (a == "--dropout" && i + 1 < argc) {
        dropout_p = bench::parse_dropout(argv[++i]);
      } else {
        std::fprintf(
            stderr,
            "usage: flashlab-gpu-calls [--seqs 512,...] [--dims 64,128] [--shape B,H,N,d]"
            "\n                          [--naive-limit-gib 40] [--dropout P] [--manifest FILE]\n");
        return 2;
      }
    }
    const auto gpu = cuda::device_info();
    if (!gpu.available) {
      std::fprintf(stderr, "flashlab-gpu-calls: %s\n", gpu.reason.c_str());
      return 2;
    }
    // The benchmark's shapes (batch = 32768/N, heads = 2048/d), then any extra ones.
    std::vector<AttentionShape> shapes;
    for (int64_t d : dims)
      for (int64_t n : seqs) shapes.push_back({32768 / n, 2048 / d, n, n, d});
    shapes.insert(shapes.end(), extra.begin(), extra.end());

    std::vector<Call> calls;
    for (const AttentionShape& shape : shapes)
      for (bool causal : {false, true}) {
        AttentionOptions options;
        options.causal = causal;
        options.dropout_p = dropout_p;
        options.seed = 0x5EED;
        const bool dropout = dropout_p > 0;
        const int64_t elems = shape.q_elements();
        cuda::DeviceBuffer q(size_t(elems) * 2), k(size_t(elems) * 2), v(size_t(elems) * 2),
            o(size_t(elems) * 2), d_o(size_t(elems) * 2), dq(size_t(elems) * 2),
            dk(size_t(elems) * 2), dv(size_t(elems) * 2), lse(size_t(shape.lse_elements()) * 4),
            work(size_t(cuda::flash_backward_workspace_bytes(shape)));
        fill_random(q.ptr, elems, 1);
        fill_random(k.ptr, elems, 2);
        fill_random(v.ptr, elems, 3);
        fill_random(d_o.ptr, elems, 4);
        const cuda::ForwardArgs fa{q.ptr, k.ptr, v.ptr, o.ptr, static_cast<float*>(lse.ptr)};
        const cuda::BackwardArgs ba{q.ptr,  k.ptr,   v.ptr,
                                    o.ptr,  d_o.ptr, static_cast<const float*>(lse.ptr),
                                    dq.ptr, dk.ptr,  dv.ptr};
        auto kernel_name = [](bool wgmma) { return std::string(wgmma ? "wgmma" : "mma.sync"); };
        auto run = [&](const char* name, const std::string& kernel, TileSizes tiles,
                       const std::function<void()>& fn, bool softmax_under_matmul = false,
                       bool kept_max = false) {
          marker();
          fn();
          check(cudaGetLastError(), name);
          marker();
          calls.push_back(
              {name, shape, causal, kernel, tiles, softmax_under_matmul, kept_max, dropout_p});
          write_manifest(manifest_path, gpu.name, gpu.sm_count, calls);
          std::printf("%-10s B=%lld H=%lld N=%lld d=%lld causal=%d\n", name, (long long)shape.batch,
                      (long long)shape.heads, (long long)shape.seq_q, (long long)shape.head_dim,
                      int(causal));
          std::fflush(stdout);
        };
        run(
            "fused_fwd", kernel_name(cuda::wgmma_forward_available(shape.head_dim)),
            cuda::flash_forward_tiles(shape, options),
            [&] { cuda::flash_forward(shape, options, cuda::DType::F16, fa); },
            cuda::flash_forward_overlaps_softmax(shape.head_dim, dropout),
            cuda::flash_forward_keeps_max(shape.head_dim, dropout));
        run("fused_bwd", kernel_name(cuda::wgmma_backward_available(shape.head_dim)),
            cuda::flash_backward_tiles(shape.head_dim, dropout),
            [&] { cuda::flash_backward(shape, options, cuda::DType::F16, ba, work.ptr); });
        const double naive_bytes =
            double(cuda::naive_workspace_bytes(shape, cuda::DType::F16, true));
        if (naive_bytes > naive_limit_gib * 1073741824.0) continue;
        cuda::DeviceBuffer naive_work{static_cast<size_t>(naive_bytes)};
        run("naive_fwd", "cublas", {0, 0},
            [&] { cuda::naive_forward(shape, options, cuda::DType::F16, fa, naive_work.ptr); });
        run("naive_bwd", "cublas", {0, 0},
            [&] { cuda::naive_backward(shape, options, cuda::DType::F16, ba, naive_work.ptr); });
      }

    std::printf("wrote %s (%zu calls)\n", manifest_path.c_str(), calls.size());
  } catch (const Error& e) {
    std::fprintf(stderr, "flashlab-gpu-calls: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
