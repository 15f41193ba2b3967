// flashlab-gpu-bench: times the fused kernels and the naive baseline on the GPU with CUDA events
// (median of many runs after warm-up) on the shapes of ../shared/anchors (batch = 32768/N,
// heads = 2048/d), and writes one JSON record per (kernel, shape). "fused" is what
// flash_forward and flash_backward pick by default (wgmma on an H100 for d = 64 and 128); where
// that is wgmma, the portable mma.sync kernels are timed too ("mma.sync"). bench/run_gpu_check.sh
// runs it beside PyTorch's scaled_dot_product_attention and prints the comparison table.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <flashlab/cuda/api.hpp>
#include <flashlab/cuda/device_buffer.hpp>
#include <flashlab/cuda/event_timer.hpp>

namespace {

using namespace flashlab;
using cuda::DType;

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(std::string(what) + ": " + cudaGetErrorString(e));
}

using Buffer = cuda::DeviceBuffer;

// Random values, uniform in [-1, 1), in the element type (fresh data: zeros would time a
// different machine). splitmix64 gives four values per call: a normal distribution through
// std::mt19937_64 took seconds per shape at N = 16384 and dominated the benchmark's run time.
void fill_random(void* dst, int64_t n, DType dtype, uint64_t seed) {
  std::vector<uint16_t> host(static_cast<size_t>(n));
  uint64_t state = seed * 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < host.size(); i += 4) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    for (size_t k = 0; k < 4 && i + k < host.size(); ++k) {
      const float v = float((z >> (16 * k)) & 0xFFFF) / 32768.f - 1.f;
      if (dtype == DType::F16) {
        const __half h = __float2half_rn(v);
        std::memcpy(&host[i + k], &h, 2);
      } else {
        const __nv_bfloat16 h = __float2bfloat16_rn(v);
        std::memcpy(&host[i + k], &h, 2);
      }
    }
  }
  check(cudaMemcpy(dst, host.data(), size_t(n) * 2, cudaMemcpyHostToDevice), "cudaMemcpy");
}

// Median milliseconds of `fn` over `reps` runs after `warmup` runs (cuda/event_timer.hpp).
double median_ms(const std::function<void()>& fn, int warmup, int reps) {
  return cuda::median_event_ms(fn, {warmup, reps, reps, 0});
}

struct Record {
  std::string kernel, mode, dtype;
  int64_t batch, heads, seq, head_dim;
  bool causal;
  double ms = 0, tflops = 0, extra_mib = 0;
  std::string note;
};

std::vector<int64_t> parse_list(const char* text) {
  std::vector<int64_t> out;
  for (const char* p = text; *p;) {
    out.push_back(std::strtoll(p, const_cast<char**>(&p), 10));
    if (*p == ',') ++p;
  }
  return out;
}

// Rewritten after every shape, so a run stopped at a time limit keeps what it measured.
void write_json(const std::string& path, const std::vector<Record>& records) {
  std::ofstream out(path);
  out << "[\n";
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    out << "{\"kernel\":\"" << r.kernel << "\",\"mode\":\"" << r.mode << "\",\"dtype\":\""
        << r.dtype << "\",\"B\":" << r.batch << ",\"H\":" << r.heads << ",\"N\":" << r.seq
        << ",\"d\":" << r.head_dim << ",\"causal\":" << (r.causal ? "true" : "false")
        << ",\"ms\":" << r.ms << ",\"tflops\":" << r.tflops << ",\"extra_mib\":" << r.extra_mib
        << ",\"note\":\"" << r.note << "\"}" << (i + 1 < records.size() ? ",\n" : "\n");
  }
  out << "]\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> seqs{512, 1024, 2048, 4096, 8192, 16384}, dims{64, 128};
  std::vector<DType> dtypes{DType::F16, DType::BF16};
  std::string json_path = "gpu_bench.json";
  double naive_limit_gib = 40;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seqs" && i + 1 < argc)
      seqs = parse_list(argv[++i]);
    else if (a == "--dims" && i + 1 < argc)
      dims = parse_list(argv[++i]);
    else if (a == "--fp16-only")
      dtypes = {DType::F16};
    else if (a == "--bf16-only")
      dtypes = {DType::BF16};
    else if (a == "--json" && i + 1 < argc)
      json_path = argv[++i];
    else if (a == "--naive-limit-gib" && i + 1 < argc)
      naive_limit_gib = std::atof(argv[++i]);
    else {
      std::fprintf(stderr,
                   "usage: flashlab-gpu-bench [--seqs 512,1024,...] [--dims 64,128]\n"
                   "                          [--fp16-only | --bf16-only] [--naive-limit-gib 40]\n"
                   "                          [--json FILE]\n"
                   "example: flashlab-gpu-bench --seqs 2048,8192 --dims 128 --json out.json\n");
      return 2;
    }
  }
  try {
    const auto gpu = cuda::device_info();
    if (!gpu.available) {
      std::fprintf(stderr, "flashlab-gpu-bench: %s\n", gpu.reason.c_str());
      return 2;
    }
    std::printf("GPU: %s, %d SMs\n", gpu.name.c_str(), gpu.sm_count);
    std::vector<Record> records;
    for (DType dtype : dtypes)
      for (int64_t d : dims)
        for (int64_t n : seqs)
          for (bool causal : {false, true}) {
            if (!records.empty()) write_json(json_path, records);
            const AttentionShape shape{32768 / n, 2048 / d, n, n, d};
            AttentionOptions options;
            options.causal = causal;
            const int64_t elems = shape.q_elements();
            Buffer q(size_t(elems) * 2), k(size_t(elems) * 2), v(size_t(elems) * 2),
                o(size_t(elems) * 2), d_o(size_t(elems) * 2), dq(size_t(elems) * 2),
                dk(size_t(elems) * 2), dv(size_t(elems) * 2), lse(size_t(shape.lse_elements()) * 4),
                work(size_t(cuda::flash_backward_workspace_bytes(shape)));
            fill_random(q.ptr, elems, dtype, 1);
            fill_random(k.ptr, elems, dtype, 2);
            fill_random(v.ptr, elems, dtype, 3);
            fill_random(d_o.ptr, elems, dtype, 4);
            const cuda::ForwardArgs fa{q.ptr, k.ptr, v.ptr, o.ptr, static_cast<float*>(lse.ptr)};
            const cuda::BackwardArgs ba{q.ptr,  k.ptr,   v.ptr,
                                        o.ptr,  d_o.ptr, static_cast<const float*>(lse.ptr),
                                        dq.ptr, dk.ptr,  dv.ptr};
            const double fwd_flops = 4.0 * double(shape.batch * shape.heads) * double(n) *
                                     double(n) * double(d) / (causal ? 2 : 1);
            const int reps = n <= 2048 ? 50 : 20;
            auto add = [&](const char* kernel, const char* mode, double ms, double flops,
                           double extra_bytes, std::string note = "") {
              records.push_back({kernel, mode, cuda::to_string(dtype), shape.batch, shape.heads, n,
                                 d, causal, ms, ms > 0 ? flops / ms / 1e9 : 0,
                                 extra_bytes / 1048576.0, std::move(note)});
              const Record& r = records.back();
              std::printf(
                  "%-8s %-7s %s d=%3lld N=%5lld causal=%d  %8.3f ms  %6.1f TFLOP/s  extra %.1f MiB "
                  "%s\n",
                  kernel, mode, r.dtype.c_str(), (long long)d, (long long)n, int(causal), ms,
                  r.tflops, r.extra_mib, r.note.c_str());
              std::fflush(stdout);
            };
            // Extra memory of the fused kernels: the logsumexp (forward) and the backward's
            // workspace (fp32 dQ accumulator and D): O(N), never N x N.
            const double fused_fwd_extra = double(shape.lse_elements()) * 4;
            const double fused_bwd_extra = double(cuda::flash_backward_workspace_bytes(shape));
            const double t_fwd =
                median_ms([&] { cuda::flash_forward(shape, options, dtype, fa); }, 5, reps);
            add("fused", "fwd", t_fwd, fwd_flops, fused_fwd_extra);
            if (cuda::wgmma_available(d)) {  // the portable kernel too, same run
              const double t_mma = median_ms(
                  [&] {
                    cuda::flash_forward(shape, options, dtype, fa, nullptr,
                                        cuda::FusedKernel::MmaSync);
                  },
                  5, reps);
              add("mma.sync", "fwd", t_mma, fwd_flops, fused_fwd_extra);
            }
            const double t_bwd = median_ms(
                [&] { cuda::flash_backward(shape, options, dtype, ba, work.ptr); }, 3, reps);
            add("fused", "bwd", t_bwd, 2.5 * fwd_flops, fused_bwd_extra);
            if (cuda::wgmma_available(d)) {
              const double t_mma = median_ms(
                  [&] {
                    cuda::flash_backward(shape, options, dtype, ba, work.ptr, nullptr,
                                         cuda::FusedKernel::MmaSync);
                  },
                  3, reps);
              add("mma.sync", "bwd", t_mma, 2.5 * fwd_flops, fused_bwd_extra);
            }
            add("fused", "fwdbwd", t_fwd + t_bwd, 3.5 * fwd_flops,
                fused_fwd_extra + fused_bwd_extra);

            const double naive_bytes = double(cuda::naive_workspace_bytes(shape, dtype, true));
            if (naive_bytes > naive_limit_gib * 1073741824.0) {
              const std::string why = "skipped: S/P/dS need " +
                                      std::to_string(int(naive_bytes / 1073741824.0)) + " GiB";
              add("naive", "fwd", 0, 0, naive_bytes, why);
              add("naive", "bwd", 0, 0, naive_bytes, why);
              continue;
            }
            Buffer naive_work{static_cast<size_t>(naive_bytes)};
            const double n_fwd =
                median_ms([&] { cuda::naive_forward(shape, options, dtype, fa, naive_work.ptr); },
                          3, reps / 2);
            add("naive", "fwd", n_fwd, fwd_flops,
                double(cuda::naive_workspace_bytes(shape, dtype, false)));
            const double n_bwd =
                median_ms([&] { cuda::naive_backward(shape, options, dtype, ba, naive_work.ptr); },
                          3, reps / 2);
            add("naive", "bwd", n_bwd, 2.5 * fwd_flops, naive_bytes);
            add("naive", "fwdbwd", n_fwd + n_bwd, 3.5 * fwd_flops, naive_bytes);
          }
    write_json(json_path, records);
    std::printf("wrote %s (%zu records)\n", json_path.c_str(), records.size());
  } catch (const Error& e) {
    std::fprintf(stderr, "flashlab-gpu-bench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
