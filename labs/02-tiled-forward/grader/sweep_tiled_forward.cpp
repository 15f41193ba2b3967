// Grader of lab 2 (README.md), part 3: the randomised sweep. Random shapes (N_q, N_k up to 40,
// d up to 16), tiles (B_r, B_c up to 12, either larger), causal or not, input magnitudes that
// give scores from a few units to several hundred; O, m and l against float64.
#include <random>
#include <string>
#include <vector>

#include <flashlab/labs/grading.hpp>
#include <flashlab/labs/sweep.hpp>

#include "forward_checks.hpp"
#include "tiled_forward.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab2::grading;

struct ForwardCase {
  SweepShape shape;
  float magnitude = 1.0f;  // of Q and K: scores grow with its square
};

ForwardCase draw(std::mt19937_64& rng) {
  const float magnitudes[] = {0.5f, 1.0f, 3.0f, 6.0f};
  return {draw_shape(rng, 40, 16, 12, true), magnitudes[uniform(rng, 0, 3)]};
}

std::string check(const ForwardCase& c) {
  const SweepShape& s = c.shape;
  const std::string why = check_forward(
      random_problem(s.data_seed, s.nq, s.nk, s.d, s.Br, s.Bc, s.causal, c.magnitude));
  return why.empty() ? "" : why + " (inputs of magnitude " + fmt(c.magnitude) + ")";
}

std::vector<ForwardCase> smaller(const ForwardCase& c) {
  std::vector<ForwardCase> out;
  for (const SweepShape& s : smaller_shapes(c.shape)) out.push_back({s, c.magnitude});
  if (c.magnitude > 1.0f) out.push_back({c.shape, 1.0f});
  return out;
}

}  // namespace

FLASHLAB_LAB_TEST("random shapes tiles and masks against float64", 10) {
  FLASHLAB_LAB_REQUIRE_OK(
      run_sweep(Sweep<ForwardCase>{"random shapes", 250, draw, check, smaller}));
}
