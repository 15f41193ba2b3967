// Grader of lab 4 (README.md), part 1: the student's FA1 Alg. 4 against the float64 reference
// backward, per gradient, on one tile, many and ragged tiles; through the allocation probe
// (flashlab/labs/alloc_probe.hpp), that no N_q x N_k matrix is ever allocated; the answers.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <flashlab/labs/alloc_probe.hpp>
#include <flashlab/labs/grading.hpp>
#include <flashlab/reference/attention.hpp>
#include <flashlab/simulator/simulate.hpp>

#include "backward.hpp"
#include "backward_checks.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab4;
using namespace flashlab::labs::lab4::grading;

void require_grad(const Problem& p, const char* which) {
  const lab4::Gradients g = run(p);
  const std::string name = which;
  const Matrix& got = name == "dQ" ? g.dQ : name == "dK" ? g.dK : g.dV;
  const flashlab::Tensor<double>& expected = name == "dQ"   ? p.ref.dQ
                                             : name == "dK" ? p.ref.dK
                                                            : p.ref.dV;
  const std::string why = compare(p, which, expected, got);
  if (why.empty()) return;
  std::string hint;
  if (name != "dV")
    hint = dq_dk_hint(p, g, expected, got);
  else if (compare_all(p, variant_gradients(p, {problem_mask(p), false, false}), g).empty())
    hint =
        ". Your gradients are what P_ij = exp(S_ij - m_i) gives, without the division by "
        "l_i: P_ij = diag(l_i)^-1 exp(S_ij - m_i) (FA1 Alg. 4 l. 13).";
  FLASHLAB_LAB_FAIL(why + hint);
}

}  // namespace

FLASHLAB_LAB_TEST("one tile: dV = P^T dO", 5) {
  require_grad(make_problem(1, 8, 8, 4, 16, 16, false), "dV");
}

FLASHLAB_LAB_TEST("one tile: dQ and dK match the reference", 5) {
  const Problem p = make_problem(1, 8, 8, 4, 16, 16, false);
  require_grad(p, "dQ");
  require_grad(p, "dK");
}

FLASHLAB_LAB_TEST("many tiles: dV matches the reference", 5) {
  require_grad(make_problem(2, 64, 64, 16, 16, 16, false), "dV");
}

FLASHLAB_LAB_TEST("many tiles: dK matches the reference", 10) {
  require_grad(make_problem(2, 64, 64, 16, 16, 16, false), "dK");
}

FLASHLAB_LAB_TEST("many tiles: dQ matches the reference", 10) {
  require_grad(make_problem(2, 64, 64, 16, 16, 16, false), "dQ");
}

FLASHLAB_LAB_TEST("ragged tiles with seq_q != seq_k", 5) {
  const Problem p = make_problem(3, 37, 29, 8, 8, 5, false);
  for (const char* g : {"dV", "dK", "dQ"}) require_grad(p, g);
}

FLASHLAB_LAB_TEST("no N x N matrix is allocated (N=256)", 15) {
  const Problem p = make_problem(5, 256, 256, 16, 32, 32, false);
  lab4::Gradients g;
  std::size_t largest_floats = 0;
  {
    const AllocationProbe probe;
    g = run(p);
    largest_floats = probe.largest_bytes() / sizeof(float);
  }
  if (const std::string why = compare_all(p, p.ref, g); !why.empty())
    FLASHLAB_LAB_FAIL("fix the gradients first (this test needs them right at N = 256): " + why);
  const std::size_t limit = 256 * 256 / 4;  // a quarter of N x N: far above any tile
  if (largest_floats >= limit)
    FLASHLAB_LAB_FAIL(
        "your backward allocated " + std::to_string(largest_floats) + " floats at once with " +
        p.describe() +
        "; an N_q x N_k matrix of floats is 65536 floats, while every tile is at "
        "most 32 x 32 and every N x d tensor 4096 floats. FA1 Alg. 4 never stores S, "
        "P, dP or dS: recompute each tile P_ij from Q_i, K_j, l_i, m_i (FA1 Alg. 4 l. 13) "
        "and use it at once (FA1 Alg. 4 l. 16–22). That is what keeps the extra memory "
        "O(N) (Theorem 1).");
}

FLASHLAB_LAB_TEST("answers: HBM bytes of the backward", 5) {
  using namespace flashlab::simulator;
  SimConfig c;
  c.shape = {1, 1, 1024, 1024, 64};
  c.tiles = flashlab::TileSizes{64, 64};
  c.counting_only = true;
  const SimBackward flash = simulate_backward(c, nullptr, nullptr, nullptr, nullptr);
  c.algorithm = Algorithm::Standard;
  const SimBackward standard = simulate_backward(c, nullptr, nullptr, nullptr, nullptr);
  const std::string how =
      " Check with simulate_backward in counting-only mode "
      "(docs/simulator.md) or `flashlab compare --backward`.";
  FLASHLAB_LAB_REQUIRE_OK(check_answers({
      {"backward_Q_read_bytes", double(flash.stats[TensorId::Q].bytes_read), 1e-6,
       "Question 1: T_c passes over Q." + how},
      {"backward_dQ_bytes",
       double(flash.stats[TensorId::dQ].bytes_read + flash.stats[TensorId::dQ].bytes_written), 1e-6,
       "Question 2: FA1 Alg. 4 l. 5 initializes dQ, FA1 Alg. 4 l. 10 reads dQ_i, FA1 Alg. 4 l. 21 "
       "writes it." +
           how},
      {"flash_backward_total_bytes", double(flash.stats.total_bytes()), 1e-6,
       "Question 3 (Theorem 5)." + how},
      {"standard_backward_total_bytes", double(standard.stats.total_bytes()), 1e-6,
       "Question 3: FA1 Alg. 3 reads P and writes and reads dP, dS (docs/simulator.md)." + how},
  }));
}
