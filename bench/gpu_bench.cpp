// flashlab-gpu-bench: times the fused kernels and the naive baseline on the GPU with CUDA events
// (median of many runs after warm-up) on the shapes of ../shared/anchors (batch = 32768/N,
// heads = 2048/d), and writes one JSON record per (kernel, shape). "fused" is what
// flash_forward and flash_backward pick by default (wgmma on an H100 for d = 64 and 128); where
// that is wgmma, the portable mma.sync kernels are timed too ("mma.sync"). bench/run_gpu_check.sh
// runs it beside PyTorch's scaled_dot_product_attention and prints the comparison table.
// Every record also carries the dense tensor-core rate cuBLAS reaches on this GPU in the same run
// (cuda/gemm_rate.hpp), so that a kernel's FLOP/s reads as a fraction of what the GPU can do.
//
// --ladder times, instead, each rung of the kernel ladder (docs/performance.md, "The ladder") on
// the same inputs: the teaching kernel (FA1 Alg. 1 on fp32 CUDA cores), the mma.sync kernels (FA2
// on sm_80 tensor cores), then the wgmma forward without and with its techniques (serial, +
// pingpong between warpgroups, + softmax overlapped with P V, + a kept running max (FA4's
// conditional rescale), + TMA copies, + a producer
// warpgroup, + a persistent schedule) and the wgmma backward (bulk dQ reductions; serial, + TMA
// copies), each as a fraction of the GEMM and as a speed-up over the rung below.
//
// --dropout P times the kernels with dropout on P (the same P for PyTorch in sdpa_compare.py,
// which reads it from the JSON); the ladder's rungs are built without dropout.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <flashlab/cuda/api.hpp>
#include <flashlab/cuda/device_buffer.hpp>
#include <flashlab/cuda/event_timer.hpp>
#include <flashlab/cuda/gemm_rate.hpp>

#include "bench_args.hpp"

namespace {

using namespace flashlab;
using cuda::DType;

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(std::string(what) + ": " + cudaGetErrorString(e));
}

using Buffer = cuda::DeviceBuffer;

// Random values, uniform in [-1, 1), in the element type (fresh data: zeros would time a
// different machine); fp32 for the teaching kernel holds the same values as fp16 and bf16 before
// their rounding. splitmix64 gives four values per call: a normal distribution through
// std::mt19937_64 took seconds per shape at N = 16384 and dominated the benchmark's run time.
void fill_random(void* dst, int64_t n, DType dtype, uint64_t seed) {
  const size_t size = size_t(cuda::element_bytes(dtype));
  std::vector<unsigned char> host(size_t(n) * size);
  uint64_t state = seed * 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < size_t(n); i += 4) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    for (size_t k = 0; k < 4 && i + k < size_t(n); ++k) {
      const float v = float((z >> (16 * k)) & 0xFFFF) / 32768.f - 1.f;
      unsigned char* out = &host[(i + k) * size];
      if (dtype == DType::F16) {
        const __half h = __float2half_rn(v);
        std::memcpy(out, &h, 2);
      } else if (dtype == DType::BF16) {
        const __nv_bfloat16 h = __float2bfloat16_rn(v);
        std::memcpy(out, &h, 2);
      } else {
        std::memcpy(out, &v, 4);
      }
    }
  }
  check(cudaMemcpy(dst, host.data(), host.size(), cudaMemcpyHostToDevice), "cudaMemcpy");
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
  double gemm_tflops = 0;  // cuBLAS's dense rate for this dtype, same run
  std::string note;
  double dropout = 0;  // the dropout probability the kernel ran with
};

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
        << ",\"gemm_tflops\":" << r.gemm_tflops << ",\"note\":\"" << r.note
        << "\",\"dropout\":" << r.dropout << "}" << (i + 1 < records.size() ? ",\n" : "\n");
  }
  out << "]\n";
}

// The inputs of one shape in one dtype (fresh random values), the outputs poisoned, and the
// arguments of both directions.
struct Problem {
  AttentionShape shape;
  AttentionOptions options;
  DType dtype;
  Buffer q, k, v, o, d_o, dq, dk, dv, lse, work;
  cuda::ForwardArgs fa;
  cuda::BackwardArgs ba;
  double fwd_flops;

  Problem(const AttentionShape& s, bool causal, DType t, double dropout_p = 0.0)
      : shape(s),
        dtype(t),
        q(bytes(t)),
        k(bytes(t)),
        v(bytes(t)),
        o(bytes(t)),
        d_o(bytes(t)),
        dq(bytes(t)),
        dk(bytes(t)),
        dv(bytes(t)),
        lse(size_t(s.lse_elements()) * 4),
        work(size_t(cuda::flash_backward_workspace_bytes(s))) {
    options.causal = causal;
    options.dropout_p = dropout_p;
    options.seed = 20261203;
    const int64_t elems = s.q_elements();
    fill_random(q.ptr, elems, t, 1);
    fill_random(k.ptr, elems, t, 2);
    fill_random(v.ptr, elems, t, 3);
    fill_random(d_o.ptr, elems, t, 4);
    for (Buffer* b : {&o, &dq, &dk, &dv, &lse}) b->poison();
    fa = {q.ptr, k.ptr, v.ptr, o.ptr, static_cast<float*>(lse.ptr)};
    ba = {q.ptr,  k.ptr,  v.ptr, o.ptr, d_o.ptr, static_cast<const float*>(lse.ptr),
          dq.ptr, dk.ptr, dv.ptr};
    fwd_flops = 4.0 * double(s.batch * s.heads) * double(s.seq_q) * double(s.seq_k) *
                double(s.head_dim) / (causal ? 2 : 1);
  }
  size_t bytes(DType t) const {
    return size_t(shape.q_elements()) * size_t(cuda::element_bytes(t));
  }
};

struct Bench {
  std::string json_path;
  std::map<DType, double> gemm_tflops;
  std::vector<Record> records;

  void add(const Problem& p, const char* kernel, const char* mode, DType dtype, double ms,
           double flops, double extra_bytes, std::string note = "") {
    const double gemm = gemm_tflops.count(p.dtype) ? gemm_tflops.at(p.dtype) : 0;
    records.push_back({kernel, mode, cuda::to_string(dtype), p.shape.batch, p.shape.heads,
                       p.shape.seq_q, p.shape.head_dim, p.options.causal, ms,
                       ms > 0 ? flops / ms / 1e9 : 0, extra_bytes / 1048576.0, gemm,
                       std::move(note), p.options.dropout_p});
    const Record& r = records.back();
    std::printf(
        "%-10s %-6s %s d=%3lld N=%5lld causal=%d  %9.3f ms  %6.1f TFLOP/s  %5.1f%% of GEMM  "
        "extra %.1f MiB %s",
        kernel, mode, r.dtype.c_str(), (long long)r.head_dim, (long long)r.seq, int(r.causal), ms,
        r.tflops, gemm > 0 ? 100 * r.tflops / gemm : 0, r.extra_mib, r.note.c_str());
    if (r.dropout > 0) std::printf(" dropout=%g", r.dropout);
    std::printf("\n");
    std::fflush(stdout);
    write_json(json_path, records);  // after every record: a run stopped early keeps its figures
  }
};

// The fused kernels and the naive baseline on one problem (the comparison against PyTorch).
void bench_kernels(Bench& bench, Problem& p, double naive_limit_gib) {
  const int reps = p.shape.seq_q <= 2048 ? 50 : 20;
  // Extra memory of the fused kernels: the logsumexp (forward) and the backward's workspace (fp32
  // dQ accumulator and D): O(N), never N x N.
  const double fwd_extra = double(p.shape.lse_elements()) * 4;
  const double bwd_extra = double(cuda::flash_backward_workspace_bytes(p.shape));
  const double t_fwd =
      median_ms([&] { cuda::flash_forward(p.shape, p.options, p.dtype, p.fa); }, 5, reps);
  bench.add(p, "fused", "fwd", p.dtype, t_fwd, p.fwd_flops, fwd_extra);
  if (cuda::wgmma_forward_available(p.shape.head_dim)) {  // the portable kernel too, same run
    const double t = median_ms(
        [&] {
          cuda::flash_forward(p.shape, p.options, p.dtype, p.fa, nullptr,
                              cuda::FusedKernel::MmaSync);
        },
        5, reps);
    bench.add(p, "mma.sync", "fwd", p.dtype, t, p.fwd_flops, fwd_extra);
  }
  const double t_bwd = median_ms(
      [&] { cuda::flash_backward(p.shape, p.options, p.dtype, p.ba, p.work.ptr); }, 3, reps);
  bench.add(p, "fused", "bwd", p.dtype, t_bwd, 2.5 * p.fwd_flops, bwd_extra);
  if (cuda::wgmma_backward_available(p.shape.head_dim)) {
    const double t = median_ms(
        [&] {
          cuda::flash_backward(p.shape, p.options, p.dtype, p.ba, p.work.ptr, nullptr,
                               cuda::FusedKernel::MmaSync);
        },
        3, reps);
    bench.add(p, "mma.sync", "bwd", p.dtype, t, 2.5 * p.fwd_flops, bwd_extra);
  }
  bench.add(p, "fused", "fwdbwd", p.dtype, t_fwd + t_bwd, 3.5 * p.fwd_flops, fwd_extra + bwd_extra);

  const double naive_bytes = double(cuda::naive_workspace_bytes(p.shape, p.dtype, true));
  if (naive_bytes > naive_limit_gib * 1073741824.0) {
    const std::string why =
        "skipped: S/P/dS need " + std::to_string(int(naive_bytes / 1073741824.0)) + " GiB";
    bench.add(p, "naive", "fwd", p.dtype, 0, 0, naive_bytes, why);
    bench.add(p, "naive", "bwd", p.dtype, 0, 0, naive_bytes, why);
    return;
  }
  Buffer naive_work{static_cast<size_t>(naive_bytes)};
  const double n_fwd = median_ms(
      [&] { cuda::naive_forward(p.shape, p.options, p.dtype, p.fa, naive_work.ptr); }, 3, reps / 2);
  bench.add(p, "naive", "fwd", p.dtype, n_fwd, p.fwd_flops,
            double(cuda::naive_workspace_bytes(p.shape, p.dtype, false)));
  const double n_bwd =
      median_ms([&] { cuda::naive_backward(p.shape, p.options, p.dtype, p.ba, naive_work.ptr); }, 3,
                reps / 2);
  bench.add(p, "naive", "bwd", p.dtype, n_bwd, 2.5 * p.fwd_flops, naive_bytes);
  bench.add(p, "naive", "fwdbwd", p.dtype, n_fwd + n_bwd, 3.5 * p.fwd_flops, naive_bytes);
}

// The rungs of the ladder above the teaching kernel, lowest first: the FusedKernel each one asks
// for and the directions it has. The tables print these columns in this order.
struct Rung {
  const char* name;
  cuda::FusedKernel kernel;
  bool forward, backward;
  const char* note;
};
constexpr Rung kLadder[] = {
    {"mma.sync", cuda::FusedKernel::MmaSync, true, true, "FA2 on mma.sync tensor cores, cp.async"},
    {"wgmma-serial", cuda::FusedKernel::WgmmaSerial, true, true,
     "wgmma, cp.async copies; the forward's softmax waits for both products"},
    {"+pingpong", cuda::FusedKernel::WgmmaPingpong, true, false,
     "+ warpgroups take turns issuing (FA3 3.1)"},
    {"+overlap", cuda::FusedKernel::WgmmaOverlap, true, false,
     "+ softmax overlapped with PV (FA3 3.2)"},
    {"+kept-max", cuda::FusedKernel::WgmmaKeptMax, true, false,
     "+ running max kept until a score passes it by 2^8 in P (FA4)"},
    {"+tma", cuda::FusedKernel::WgmmaTma, true, true, "+ TMA copies, mbarrier arrival"},
    {"+warp-spec", cuda::FusedKernel::WgmmaWarpSpecialized, true, true,
     "+ producer warpgroup, setmaxnreg (FA3 3.1)"},
    {"+persistent", cuda::FusedKernel::WgmmaPersistent, true, false,
     "+ one block per SM over all work, heaviest first, static snake order"},
    {"+dynamic", cuda::FusedKernel::WgmmaPersistentDynamic, true, false,
     "persistent, units drawn from a counter (FA3's scheduler) instead of the snake"},
    // The default forward and backward are rungs above (fwd_production_rung; the backward's is
    // +warp-spec): not timed twice.
};

// The columns of one direction's ladder table: the rungs that have it (and, forward, the teaching
// kernel first).
std::vector<std::string> ladder_columns(bool backward) {
  std::vector<std::string> names;
  if (!backward) names.push_back("teaching");
  for (const Rung& r : kLadder)
    if (backward ? r.backward : r.forward) names.push_back(r.name);
  return names;
}

// True when the run has timed the teaching kernel on this problem's shape and mask already: it
// computes in fp32 whatever the dtype, so the fp16 and bf16 ladders share its record.
bool teaching_timed(const Bench& bench, const Problem& p) {
  return std::any_of(bench.records.begin(), bench.records.end(), [&](const Record& r) {
    return r.kernel == "teaching" && r.seq == p.shape.seq_q && r.head_dim == p.shape.head_dim &&
           r.causal == p.options.causal;
  });
}

// The rungs of the ladder on one problem, lowest first; each is timed on the same inputs.
// `teaching`: time the teaching kernel too (seconds per launch at N = 8192).
void bench_ladder(Bench& bench, Problem& p, bool teaching) {
  const int reps = p.shape.seq_q <= 2048 ? 30 : 10;
  if (teaching && !teaching_timed(bench, p)) {
    // Rung 1: the teaching kernel, fp32 (it has no tensor-core path), on the same values.
    Problem p32(p.shape, p.options.causal, DType::F32);
    const double t =
        median_ms([&] { cuda::flash_forward_simple(p32.shape, p32.options, p32.fa); }, 1, 3);
    bench.add(p, "teaching", "fwd", DType::F32, t, p.fwd_flops, 0, "FA1 Alg. 1, fp32 CUDA cores");
  }
  for (const Rung& rung : kLadder) {
    if (rung.kernel != cuda::FusedKernel::MmaSync &&
        !cuda::wgmma_ladder_available(p.shape.head_dim)) {
      bench.add(p, rung.name, rung.forward ? "fwd" : "bwd", p.dtype, 0, 0, 0,
                "not run: no wgmma ladder rung here");
      continue;
    }
    if (rung.forward) {
      const double t_fwd = median_ms(
          [&] { cuda::flash_forward(p.shape, p.options, p.dtype, p.fa, nullptr, rung.kernel); }, 5,
          reps);
      bench.add(p, rung.name, "fwd", p.dtype, t_fwd, p.fwd_flops, 0, rung.note);
    }
    if (!rung.backward) continue;
    const double t_bwd = median_ms(
        [&] {
          cuda::flash_backward(p.shape, p.options, p.dtype, p.ba, p.work.ptr, nullptr, rung.kernel);
        },
        3, reps);
    bench.add(p, rung.name, "bwd", p.dtype, t_bwd, 2.5 * p.fwd_flops, 0, rung.note);
  }
}

// The ladder of one direction as a Markdown table: per problem, every rung's TFLOP/s with its
// step over the rung to its left, the fastest rung over mma.sync, and the fastest rung's fraction
// of the GEMM measured in the same run.
void print_ladder_table(const std::vector<Record>& records, const std::string& mode,
                        const std::vector<std::string>& rungs) {
  std::printf("\n| mode | dtype | d | N | causal |");
  for (const std::string& r : rungs) std::printf(" %s |", r.c_str());
  std::printf(" best / mma.sync | best %% of GEMM |\n|---|---|---|---|---|");
  for (size_t k = 0; k < rungs.size() + 2; ++k) std::printf("---:|");
  std::printf("\n");
  for (const Record& first : records) {
    if (first.kernel != "mma.sync" || first.mode != mode) continue;  // one row per problem
    std::vector<double> tf(rungs.size(), 0.0);
    for (const Record& r : records)
      if (r.seq == first.seq && r.head_dim == first.head_dim && r.causal == first.causal &&
          r.mode == mode && (r.dtype == first.dtype || r.kernel == "teaching"))
        for (size_t k = 0; k < rungs.size(); ++k)
          if (r.kernel == rungs[k]) tf[k] = r.tflops;
    std::printf("| %s | %s | %lld | %lld | %s |", mode.c_str(), first.dtype.c_str(),
                (long long)first.head_dim, (long long)first.seq, first.causal ? "yes" : "no");
    double below = 0, mma_sync = 0, best = 0;
    for (size_t k = 0; k < rungs.size(); ++k) {
      if (rungs[k] == "mma.sync") mma_sync = tf[k];
      if (tf[k] <= 0)
        std::printf(" - |");
      else if (below > 0)
        std::printf(" %.*f (%.2fx) |", tf[k] < 10 ? 1 : 0, tf[k], tf[k] / below);
      else
        std::printf(" %.*f |", tf[k] < 10 ? 1 : 0, tf[k]);
      if (tf[k] > 0) below = tf[k];
      best = std::max(best, tf[k]);
    }
    const double gemm = first.gemm_tflops;
    if (best > 0 && mma_sync > 0)
      std::printf(" %.2fx |", best / mma_sync);
    else
      std::printf(" - |");
    if (best > 0 && gemm > 0)
      std::printf(" %.0f%% |\n", 100 * best / gemm);
    else
      std::printf(" - |\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> seqs{512, 1024, 2048, 4096, 8192, 16384}, dims{64, 128};
  std::vector<DType> dtypes{DType::F16, DType::BF16};
  Bench bench{"gpu_bench.json", {}, {}};
  double naive_limit_gib = 40;
  bool ladder = false, seqs_given = false, teaching = true;
  double dropout_p = 0.0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    try {
      if (a == "--seqs" && i + 1 < argc)
        seqs = flashlab::bench::parse_int_list(argv[++i]), seqs_given = true;
      else if (a == "--dims" && i + 1 < argc)
        dims = flashlab::bench::parse_int_list(argv[++i]);
      else if (a == "--fp16-only")
        dtypes = {DType::F16};
      else if (a == "--bf16-only")
        dtypes = {DType::BF16};
      else if (a == "--json" && i + 1 < argc)
        bench.json_path = argv[++i];
      else if (a == "--naive-limit-gib" && i + 1 < argc)
        naive_limit_gib = std::atof(argv[++i]);
      else if (a == "--ladder")
        ladder = true;
      else if (a == "--no-teaching")
        teaching = false;
      else if (a == "--dropout" && i + 1 < argc)
        dropout_p = flashlab::bench::parse_dropout(argv[++i]);
      else {
        std::fprintf(
            stderr,
            "usage: flashlab-gpu-bench [--seqs 512,1024,...] [--dims 64,128]\n"
            "                          [--fp16-only | --bf16-only] [--naive-limit-gib 40]\n"
            "                          [--ladder [--no-teaching]] [--dropout P] [--json FILE]\n"
            "  --ladder  time every rung of the kernel ladder instead (teaching, mma.sync,\n"
            "            wgmma serial, +pingpong, +overlap, +kept-max, +tma, +warp-spec,\n"
            "            +persistent;\n"
            "            backward: mma.sync, wgmma serial, +tma, +warp-spec); default "
            "--seqs 2048,8192\n"
            "  --no-teaching  leave out the teaching kernel (fp32 whatever the dtype, and\n"
            "            seconds per launch at N = 8192; with both dtypes it runs once)\n"
            "  --dropout P  time the kernels with dropout on P, 0 <= P < 1 (not with\n"
            "            --ladder, whose rungs are built without dropout)\n"
            "example: flashlab-gpu-bench --seqs 2048,8192 --dims 128 --json out.json\n");
        return 2;
      }
    } catch (const Error& e) {
      std::fprintf(stderr, "flashlab-gpu-bench: %s: %s\n", a.c_str(), e.what());
      return 2;
    }
  }
  if (ladder && dropout_p > 0) {
    std::fprintf(stderr,
                 "flashlab-gpu-bench: --dropout is not an option of --ladder (its rungs are "
                 "built without dropout)\n");
    return 2;
  }
  if (!teaching && !ladder) {
    std::fprintf(stderr, "flashlab-gpu-bench: --no-teaching is an option of --ladder\n");
    return 2;
  }
  if (ladder && !seqs_given) seqs = {2048, 8192};
  try {
    const auto gpu = cuda::device_info();
    if (!gpu.available) {
      std::fprintf(stderr, "flashlab-gpu-bench: %s\n", gpu.reason.c_str());
      return 2;
    }
    std::printf("GPU: %s, %d SMs\n", gpu.name.c_str(), gpu.sm_count);
    for (DType dtype : dtypes) {
      bench.gemm_tflops[dtype] = cuda::measure_gemm_flops_per_s(dtype) / 1e12;
      std::printf("cuBLAS GEMM 8192^3 %s: %.1f TFLOP/s (the dense peak the %% column divides by)\n",
                  cuda::to_string(dtype).c_str(), bench.gemm_tflops[dtype]);
    }
    for (DType dtype : dtypes)
      for (int64_t d : dims)
        for (int64_t n : seqs)
          for (bool causal : {false, true}) {
            Problem p(AttentionShape{32768 / n, 2048 / d, n, n, d}, causal, dtype, dropout_p);
            if (ladder)
              bench_ladder(bench, p, teaching);
            else
              bench_kernels(bench, p, naive_limit_gib);
          }
    write_json(bench.json_path, bench.records);
    if (ladder) {
      print_ladder_table(bench.records, "fwd", ladder_columns(false));
      print_ladder_table(bench.records, "bwd", ladder_columns(true));
    }
    std::printf("wrote %s (%zu records)\n", bench.json_path.c_str(), bench.records.size());
  } catch (const Error& e) {
    std::fprintf(stderr, "flashlab-gpu-bench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
