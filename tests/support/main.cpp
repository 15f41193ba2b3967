// doctest main for every flashlab suite: prints the base seed so any failure can be replayed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <flashlab/test/random.hpp>

namespace flashlab::test {

uint64_t base_seed() {
  static const uint64_t seed = [] {
    const char* env = std::getenv("FLASHLAB_TEST_SEED");
    return env ? std::strtoull(env, nullptr, 10) : uint64_t{20220527};
  }();
  return seed;
}

uint64_t seed_for(const std::string& label) {
  // FNV-1a: stable across compilers and runs, unlike std::hash.
  uint64_t h = 1469598103934665603ull ^ base_seed();
  for (unsigned char c : label) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace flashlab::test

int main(int argc, char** argv) {
  std::printf("flashlab tests: FLASHLAB_TEST_SEED=%llu (set it to replay with other inputs)\n",
              static_cast<unsigned long long>(flashlab::test::base_seed()));
  doctest::Context context(argc, argv);
  return context.run();
}
