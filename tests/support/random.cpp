// The seeds of the tests' random inputs: one base seed per run, one derived seed per test.
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
