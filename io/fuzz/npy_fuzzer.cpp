// Coverage-guided fuzzing of the .npy reader with libFuzzer (optional; not run in CI). The
// property is the one tests/io/npy_fuzz_test.cpp checks with seeded mutations: any input is
// either read into a consistent array or refused with flashlab::Error.
//
// Build and run (clang only):
//   cmake -S . -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DFLASHLAB_FUZZ=ON \
//         -DFLASHLAB_CUDA=OFF -DFLASHLAB_BUILD_VISUALIZER=OFF
//   cmake --build build/fuzz --target npy_fuzzer
//   mkdir -p build/fuzz/corpus && cp tests/io/corpus/*.npy build/fuzz/corpus/
//   build/fuzz/io/npy_fuzzer build/fuzz/corpus -max_total_time=60 -max_len=4096
// A crash, a sanitizer report or an abort() below leaves a crash-* file to replay with
//   build/fuzz/io/npy_fuzzer crash-<hash>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include <flashlab/core/error.hpp>
#include <flashlab/io/npy.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace flashlab::io;
  // The first byte picks the option, the rest is the file.
  if (size == 0) return 0;
  NpyReadOptions options;
  options.void2_is_bfloat16 = (data[0] & 1) != 0;
  std::vector<uint8_t> file(data + 1, data + size);
  try {
    const NpyArray array = parse_npy(std::move(file), "fuzz.npy", options);
    uint64_t expected = uint64_t(npy_itemsize(array.dtype));
    for (const int64_t dim : array.shape) {
      if (dim < 0 || (dim > 0 && expected > UINT64_MAX / uint64_t(dim))) std::abort();
      expected *= uint64_t(dim);
    }
    if (expected != array.bytes.size() || array.bytes.size() + 1 > size) std::abort();
    try {
      (void)to_tensor<double>(array);
    } catch (const flashlab::Error&) {
    }
    try {
      (void)to_tensor<uint8_t>(array);
    } catch (const flashlab::Error&) {
    }
  } catch (const flashlab::Error&) {
  }
  // Any other exception escapes, and libFuzzer reports it as a crash.
  return 0;
}
