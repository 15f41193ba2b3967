// Lab 1's grader helpers: float64 ground truth for one row (softmax, the (m, l) state,
// attention), runs of the streaming functions on a fresh KeyBlocks (with the passes they made),
// and expected-vs-got messages that show the input.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "online_softmax.hpp"

namespace flashlab::labs::lab1::grading {

using Row = std::vector<float>;
constexpr float kInf = INFINITY;

struct State64 {
  double m = -INFINITY, l = 0;
};

std::vector<double> softmax64(const Row& x);
State64 state64(const Row& x);
// o = sum_j softmax(s)_j v_j (v: s.size() rows of d values).
std::vector<double> attention_row64(const Row& s, const Row& v, size_t d);

Row random_row(std::mt19937& rng, size_t n, float stddev);

// "" if got matches expected within (abs_tol, rel_tol), else "what for x = [...]: entry i
// expected E, got G (all: [...])".
std::string compare(const std::string& what, const Row& x, const std::vector<double>& expected,
                    const Row& got, double abs_tol = 1e-6, double rel_tol = 1e-5);
// "" when the state is (m, l) within tolerance (an m of -inf must be exactly -inf).
bool same_state(RowState got, State64 expected);
std::string state_str(RowState s);
std::string state_str(State64 s);

// One call of a streaming function: its result and the passes it made over the keys.
struct StreamRun {
  Row out;
  int passes = 0;
};
StreamRun run_online_softmax(const Row& x, size_t block);
StreamRun run_attention_row(const Row& s, const Row& v, size_t d, size_t block);

// "" when online_attention_row is right on (s, v, d, block) (values only, not passes).
std::string check_attention_row(const Row& s, const Row& v, size_t d, size_t block,
                                double abs_tol = 1e-6, double rel_tol = 1e-5);

}  // namespace flashlab::labs::lab1::grading
