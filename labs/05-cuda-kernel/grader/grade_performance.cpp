// Grader of lab 5 (README.md), part 2: the student's kernel timed beside the teaching kernel
// (cuda flash_forward_simple, fp32, one thread block per head) and the fast kernel (cuda
// flash_forward, fp16 tensor cores) on one shape, in the same process on the same GPU. The
// report is printed whatever the result; the test passes when the output is right at that shape
// and the kernel is at least as fast as the teaching kernel. With the CMake option
// FLASHLAB_LAB5_PERFORMANCE_TIER=ON a second test gives points for tier 2 (README).
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <flashlab/cuda/api.hpp>
#include <flashlab/cuda/device_buffer.hpp>
#include <flashlab/cuda/event_timer.hpp>
#include <flashlab/labs/grading.hpp>

#include "flash_kernel.hpp"
#include "gpu_checks.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab5;
using namespace flashlab::labs::lab5::grading;
using Buffer = flashlab::cuda::DeviceBuffer;

// The timed shape: 16 heads of N = 2048, d = 64, no mask: 4 B H N^2 d = 17.2 GFLOP.
constexpr Problem kShape{1, 16, 2048, 2048, 64, 0.125f, false};
// The tiers, as multiples of the teaching kernel's TFLOP/s in the same run (README).
constexpr double kTier1 = 1.0, kTier2 = 4.0;
// Tier 3 (reported only): a share of the fast tensor-core kernel's TFLOP/s.
constexpr double kTier3OfFast = 0.05;

void check_cuda(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw flashlab::Error(std::string(what) + ": " + cudaGetErrorString(e));
}

// Median milliseconds of `run` after one warm-up run, with as many runs as fit in about a
// second (3 to 20), timed with CUDA events (cuda/event_timer.hpp).
double median_ms(const std::function<void()>& run) {
  return flashlab::cuda::median_event_ms(run, {1, 3, 20, 1000.0});
}

double tflops(double ms) {
  const double flops =
      4.0 * kShape.batch * kShape.heads * double(kShape.seq_q) * kShape.seq_k * kShape.head_dim;
  return flops / (ms * 1e-3) / 1e12;
}

struct Timing {
  double yours_ms = 0, teaching_ms = 0, fast_ms = 0;  // fast_ms = 0: the fast kernel cannot run
  std::string fast_note, report, wrong;               // wrong: why the output is wrong, or ""
  int tier = 0;
};

Timing measure() {
  const Case c = random_case(12, kShape);
  const flashlab::AttentionShape shape{kShape.batch, kShape.heads, kShape.seq_q, kShape.seq_k,
                                       kShape.head_dim};
  flashlab::AttentionOptions options;
  options.softmax_scale = kShape.scale;
  const size_t n = c.q.size(), lse_n = size_t(shape.lse_elements());  // K, V: n too (N_q = N_k)
  Buffer q(n * 4), k(n * 4), v(n * 4), o(n * 4), lse(lse_n * 4), o_ref(n * 4), lse_ref(lse_n * 4);
  for (const auto& [dst, src] : {std::pair{&q, &c.q}, std::pair{&k, &c.k}, std::pair{&v, &c.v}})
    check_cuda(cudaMemcpy(dst->ptr, src->data(), n * 4, cudaMemcpyHostToDevice), "cudaMemcpy");
  // NaN until written: a kernel that leaves O or the logsumexp alone (the skeleton, whose empty
  // launch is fast) fails the output check below instead of passing on stale memory.
  o.poison();
  lse.poison();

  Timing t;
  auto yours = [&] {
    const std::string e = flash_forward_gpu(kShape, q.as<float>(), k.as<float>(), v.as<float>(),
                                            o.as<float>(), lse.as<float>());
    if (!e.empty())
      throw flashlab::Error("flash_forward_gpu failed with " + c.describe() + ": " + e);
  };
  const flashlab::cuda::ForwardArgs teaching_args{q.ptr, k.ptr, v.ptr, o_ref.ptr,
                                                  lse_ref.as<float>()};
  t.yours_ms = median_ms(yours);
  t.teaching_ms =
      median_ms([&] { flashlab::cuda::flash_forward_simple(shape, options, teaching_args); });

  // The output at this shape, against the teaching kernel's (float64 would take minutes here).
  Output got{std::vector<float>(n), std::vector<float>(lse_n)}, ref_f{got};
  check_cuda(cudaMemcpy(got.O.data(), o.ptr, n * 4, cudaMemcpyDeviceToHost), "cudaMemcpy");
  check_cuda(cudaMemcpy(got.lse.data(), lse.ptr, lse_n * 4, cudaMemcpyDeviceToHost), "cudaMemcpy");
  check_cuda(cudaMemcpy(ref_f.O.data(), o_ref.ptr, n * 4, cudaMemcpyDeviceToHost), "cudaMemcpy");
  check_cuda(cudaMemcpy(ref_f.lse.data(), lse_ref.ptr, lse_n * 4, cudaMemcpyDeviceToHost),
             "cudaMemcpy");
  flashlab::ForwardResult<double> ref{flashlab::Tensor<double>(flashlab::q_dims(shape)),
                                      flashlab::Tensor<double>({1, kShape.heads, kShape.seq_q})};
  std::copy(ref_f.O.begin(), ref_f.O.end(), ref.O.data.begin());
  std::copy(ref_f.lse.begin(), ref_f.lse.end(), ref.lse.data.begin());
  t.wrong = compare(c, got, ref);

  try {  // fp16 copies of the same inputs for the tensor-core kernel
    std::vector<__half> h(n);
    const Buffer qh(n * 2), kh(n * 2), vh(n * 2), oh(n * 2), lseh(lse_n * 4);
    for (const auto& [dst, src] :
         {std::pair{&qh, &c.q}, std::pair{&kh, &c.k}, std::pair{&vh, &c.v}}) {
      std::transform(src->begin(), src->end(), h.begin(), [](float x) { return __float2half(x); });
      check_cuda(cudaMemcpy(dst->ptr, h.data(), n * 2, cudaMemcpyHostToDevice), "cudaMemcpy");
    }
    const flashlab::cuda::ForwardArgs args{qh.ptr, kh.ptr, vh.ptr, oh.ptr, lseh.as<float>()};
    t.fast_ms = median_ms(
        [&] { flashlab::cuda::flash_forward(shape, options, flashlab::cuda::DType::F16, args); });
  } catch (const flashlab::Error& e) {
    t.fast_note = e.what();
  }

  const double ratio = t.teaching_ms / t.yours_ms;
  t.tier = ratio < kTier1 ? 0 : ratio < kTier2 ? 1 : 2;
  if (t.tier == 2 && t.fast_ms > 0 && t.fast_ms / t.yours_ms >= kTier3OfFast) t.tier = 3;
  char line[200];
  auto row = [&](const char* name, double ms) {
    std::snprintf(line, sizeof line, "  %-50s %9.3f ms %8.2f TFLOP/s\n", name, ms, tflops(ms));
    t.report += line;
  };
  const flashlab::cuda::DeviceInfo gpu = flashlab::cuda::device_info();
  t.report = "performance on " + gpu.name + ", " + c.describe() + " (median of runs):\n";
  row("your kernel (fp32)", t.yours_ms);
  row("teaching kernel, cuda flash_forward_simple (fp32)", t.teaching_ms);
  if (t.fast_ms > 0)
    row("fast kernel, cuda flash_forward (fp16 tensor cores)", t.fast_ms);
  else
    t.report += "  fast kernel, cuda flash_forward: cannot run here (" + t.fast_note + ")\n";
  std::snprintf(line, sizeof line, "  yours = %.2fx the teaching kernel", ratio);
  t.report += line;
  if (t.fast_ms > 0) {
    std::snprintf(line, sizeof line, ", %.3fx the fast kernel", t.fast_ms / t.yours_ms);
    t.report += line;
  }
  t.report += "; tier " + std::to_string(t.tier) +
              " (1: >= 1x the teaching kernel, 2: >= 4x, 3: also >= 5% of the fast kernel)\n";
  return t;
}

std::string indented(const std::string& report) {
  std::string out;
  size_t start = 0;
  while (start < report.size()) {
    const size_t end = report.find('\n', start);
    out += "           " + report.substr(start, end - start) + "\n";
    start = end == std::string::npos ? report.size() : end + 1;
  }
  return out;
}

}  // namespace

FLASHLAB_LAB_TEST("timed: TFLOP/s beside the teaching and the fast kernel (16 heads N=2048 d=64)",
                  5) {
  const Timing t = measure();
  std::printf("%s", indented(t.report).c_str());
  if (!t.wrong.empty()) FLASHLAB_LAB_FAIL("against the teaching kernel's output, " + t.wrong);
  if (t.tier == 0)
    FLASHLAB_LAB_FAIL(t.report +
                      "Your kernel is slower than the teaching kernel, which runs one thread "
                      "block per head; yours runs one per (query tile, head), 64 times as many. "
                      "Look for a phase where one thread does the work of many (README, "
                      "question 3).");
}

#ifdef FLASHLAB_LAB5_PERFORMANCE_TIER
FLASHLAB_LAB_TEST("performance tier 2: at least 4x the teaching kernel's TFLOP/s", 10) {
  const Timing t = measure();
  if (!t.wrong.empty()) FLASHLAB_LAB_FAIL("against the teaching kernel's output, " + t.wrong);
  if (t.tier < 2)
    FLASHLAB_LAB_FAIL(t.report + "Tier 2 needs 4x the teaching kernel's TFLOP/s (README).");
}
#endif
