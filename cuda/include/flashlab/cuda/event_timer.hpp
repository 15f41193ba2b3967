// Timing GPU work with CUDA events, as every timing in flashlab does it (the benchmark, the
// microbenchmarks, compare's CUDA rows, lab 5's grader): warm-up runs first (an idle GPU starts
// at a low clock), then the median of timed runs, each between two events on the default stream.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <string>
#include <vector>

#include <flashlab/core/error.hpp>

namespace flashlab::cuda {

struct TimingPlan {
  int warmup = 3;
  int min_runs = 5;
  int max_runs = 50;
  double min_total_ms = 20;  // keep timing (up to max_runs) until the runs add up to this
};

// Median milliseconds of `run`, timed with CUDA events; a failing CUDA call throws
// flashlab::Error naming it.
template <typename Run>
double median_event_ms(Run&& run, const TimingPlan& plan = {}) {
  auto check = [](cudaError_t e, const char* what) {
    if (e != cudaSuccess) throw Error(std::string(what) + ": " + cudaGetErrorString(e));
  };
  for (int i = 0; i < plan.warmup; ++i) run();
  check(cudaDeviceSynchronize(), "warm-up run");
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  std::vector<float> ms;
  double total = 0;
  while (int(ms.size()) < plan.min_runs ||
         (int(ms.size()) < plan.max_runs && total < plan.min_total_ms)) {
    check(cudaEventRecord(start), "cudaEventRecord");
    run();
    check(cudaEventRecord(stop), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "timed run");
    float t = 0;
    check(cudaEventElapsedTime(&t, start, stop), "cudaEventElapsedTime");
    ms.push_back(t);
    total += t;
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace flashlab::cuda
