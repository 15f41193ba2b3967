// doctest main of the GPU suite: without a usable GPU it says why and exits 77, which CTest
// reports as "Skipped" — never as passed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <flashlab/cuda/api.hpp>
#include <flashlab/test/random.hpp>

int main(int argc, char** argv) {
  const flashlab::cuda::DeviceInfo gpu = flashlab::cuda::device_info();
  if (!gpu.available) {
    std::printf("SKIPPED: GPU tests need a CUDA GPU: %s\n", gpu.reason.c_str());
    return 77;
  }
  std::printf("GPU: %s (%d SMs, sm_%d%d)\n", gpu.name.c_str(), gpu.sm_count, gpu.compute_major,
              gpu.compute_minor);
  std::printf("flashlab tests: FLASHLAB_TEST_SEED=%llu (set it to replay with other inputs)\n",
              static_cast<unsigned long long>(flashlab::test::base_seed()));
  doctest::Context context(argc, argv);
  return context.run();
}
