// Lab 5's grader helpers: random problems, one run of the student's kernel (O and lse filled
// with NaN first, so an unwritten element shows), the float64 reference (with the masks of the
// usual mistakes, for hints), and expected-vs-got messages.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <flashlab/core/results.hpp>

#include "flash_kernel.hpp"

namespace flashlab::labs::lab5::grading {

struct Case {
  Problem p;
  std::vector<float> q, k, v;
  std::string describe() const;
};

// Q, K, V ~ N(0, 1), tau = 1/sqrt(d).
Case random_case(uint64_t seed, Problem p);

struct Output {
  std::vector<float> O, lse;
};
// Throws flashlab::Error when flash_forward_gpu reports an error.
Output run_gpu(const Case& c);

// The float64 reference; `allowed` replaces the problem's causal rule when given.
ForwardResult<double> reference(const Case& c,
                                const std::function<bool(int r, int col)>& allowed = nullptr);

// "" when O and lse match `ref` (within 1e-4), else the first wrong element; NaN gets a note.
std::string compare(const Case& c, const Output& got, const ForwardResult<double>& ref);
inline std::string check(const Case& c) {
  return compare(c, run_gpu(c), reference(c));
}

}  // namespace flashlab::labs::lab5::grading
