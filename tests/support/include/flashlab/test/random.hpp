// Seeded random inputs for tests. Every test derives its generator from one base seed (printed at
// start, overridable with FLASHLAB_TEST_SEED) and its own name, and reports the seed on failure.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <flashlab/core/tensor.hpp>

namespace flashlab::test {

// The base seed of this run: FLASHLAB_TEST_SEED if set, else a fixed default.
uint64_t base_seed();

// The seed of one test's generator: the base seed mixed with `label` (usually the test's name).
uint64_t seed_for(const std::string& label);

// Declares generator `rng` for this test and puts its seed into doctest's failure context, so a
// failing check prints how to replay it.
#define FLASHLAB_TEST_RNG(rng, label)                                                            \
  const uint64_t rng##_seed = ::flashlab::test::seed_for(label);                                 \
  INFO("random inputs of '" << (label) << "': seed " << rng##_seed                               \
                            << " (FLASHLAB_TEST_SEED=" << ::flashlab::test::base_seed() << ")"); \
  std::mt19937_64 rng(rng##_seed)

template <typename T = double>
Tensor<T> random_tensor(std::mt19937_64& rng, std::vector<int64_t> dims, double stddev = 1.0) {
  std::normal_distribution<double> normal(0.0, stddev);
  Tensor<T> t(std::move(dims));
  for (T& x : t.data) x = static_cast<T>(normal(rng));
  return t;
}

inline int64_t random_int(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

}  // namespace flashlab::test
