// Grader of lab 4 (README.md), part 3: the randomised sweep. Random shapes (N_q, N_k up to 40,
// d up to 16), tiles (B_r, B_c up to 12, either larger), causal or not; dQ, dK, dV against the
// float64 reference backward.
#include <random>
#include <string>

#include <flashlab/labs/grading.hpp>
#include <flashlab/labs/sweep.hpp>

#include "backward.hpp"
#include "backward_checks.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab4::grading;

SweepShape draw(std::mt19937_64& rng) {
  return draw_shape(rng, 40, 16, 12, true);
}

std::string check(const SweepShape& s) {
  const Problem p = make_problem(s.data_seed, s.nq, s.nk, s.d, s.Br, s.Bc, s.causal);
  return compare_all(p, p.ref, run(p));
}

}  // namespace

FLASHLAB_LAB_TEST("random shapes tiles and masks against float64", 10) {
  FLASHLAB_LAB_REQUIRE_OK(
      run_sweep(Sweep<SweepShape>{"random shapes", 250, draw, check, smaller_shapes}));
}
