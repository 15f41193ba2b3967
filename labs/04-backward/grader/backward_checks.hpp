// Lab 4's grader helpers: problems with the forward's O, l, m and the reference gradients,
// per-gradient comparisons, and float64 gradients of plausible mistakes (P kept only where a
// rule says, not divided by l, D summed over one tile) for hints that name what the student's
// result equals.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <flashlab/core/results.hpp>

#include "backward.hpp"

namespace flashlab::labs::lab4::grading {

struct Problem {
  Matrix Q, K, V, O, dO;
  Vector l, m;
  BackwardConfig cfg;
  flashlab::Gradients<double> ref;
  std::string describe() const;
};

// Random inputs, the forward's O and row statistics (float64, rounded to float) and the
// reference gradients.
Problem make_problem(uint64_t seed, Index nq, Index nk, Index d, Index Br, Index Bc, bool causal);

lab4::Gradients run(const Problem& p);

// "" when `got` (named dQ, dK or dV) matches `expected`, else where it first differs.
std::string compare(const Problem& p, const char* name, const Tensor<double>& expected,
                    const Matrix& got);
// dV, dK, dQ in turn: the first difference, or "".
std::string compare_all(const Problem& p, const flashlab::Gradients<double>& expected,
                        const lab4::Gradients& got);

// FA1 Alg. 4 in float64 from the problem's O, l, m with a mistake planted: P_rc is kept only where
// keep(r, c), divided by l_r or not, with D over the whole row or over one tile of B_c keys.
struct Variant {
  std::function<bool(Index r, Index c)> keep;
  bool divide_by_l = true;
  bool tile_local_D = false;
};
flashlab::Gradients<double> variant_gradients(const Problem& p, const Variant& v);
// The problem's own mask: c <= r when causal, else every score.
std::function<bool(Index r, Index c)> problem_mask(const Problem& p);

// Why dQ or dK is wrong, judged from dV and from the variants (missing tau, D over one tile).
std::string dq_dk_hint(const Problem& p, const lab4::Gradients& g, const Tensor<double>& expected,
                       const Matrix& got);

}  // namespace flashlab::labs::lab4::grading
