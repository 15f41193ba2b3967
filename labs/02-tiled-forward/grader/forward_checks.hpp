// Lab 2's grader helpers: problems (random or built), the float64 ground truth (the reference
// forward for O, plain loops for the row statistics m and l), and expected-vs-got messages.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "tiled_forward.hpp"

namespace flashlab::labs::lab2::grading {

struct Problem {
  Matrix Q, K, V;
  TileConfig cfg;
  std::string describe() const;
};

// Q, K, V ~ N(0, 1) (times `magnitude`), tau = 1/sqrt(d).
Problem random_problem(uint64_t seed, Index nq, Index nk, Index d, Index Br, Index Bc, bool causal,
                       float magnitude = 1.0f);

// Which scores a run keeps: the problem's own rule (causal or not) unless one is given.
using Allowed = std::function<bool(Index r, Index c)>;
Allowed problem_mask(const Problem& p);

// The reference O (row-major) under `allowed`.
std::vector<double> reference_O(const Problem& p, const Allowed& allowed);
std::vector<double> reference_O(const Problem& p);

// "" when O matches `expected`; else the first wrong element with its row.
std::string compare_O(const Problem& p, const std::vector<double>& expected, const Matrix& O);
// "" when l and m are the statistics of each row under the problem's mask: m = max of the
// allowed scores, l = sum of e^{S - m}; else the first wrong row.
std::string compare_stats(const Problem& p, const ForwardOutput& out);
// O, then m and l.
std::string check_forward(const Problem& p);

// Row r's largest score over the tiles a causal forward computes (masked scores included):
// what m is when it is taken before the mask.
double unmasked_tile_max(const Problem& p, Index r);

}  // namespace flashlab::labs::lab2::grading
