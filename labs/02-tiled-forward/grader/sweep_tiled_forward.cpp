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
using namespace flashlab::labs::lab2;
using namespace flashlab::labs::lab2::grading;

struct ForwardCase {
  uint64_t data_seed = 0;
  Index nq = 1, nk = 1, d = 1, Br = 1, Bc = 1;
  bool causal = false;
  float magnitude = 1.0f;  // of Q and K: scores grow with its square
};

ForwardCase draw(std::mt19937_64& rng) {
  const float magnitudes[] = {0.5f, 1.0f, 3.0f, 6.0f};
  ForwardCase c;
  c.data_seed = rng();
  c.nq = uniform(rng, 1, 40);
  c.nk = uniform(rng, 1, 40);
  c.d = uniform(rng, 1, 16);
  c.Br = uniform(rng, 1, 12);
  c.Bc = uniform(rng, 1, 12);
  c.causal = uniform(rng, 0, 1) == 1;
  c.magnitude = magnitudes[uniform(rng, 0, 3)];
  return c;
}

std::string check(const ForwardCase& c) {
  const Problem p = random_problem(c.data_seed, c.nq, c.nk, c.d, c.Br, c.Bc, c.causal, c.magnitude);
  const std::string why = check_forward(p);
  return why.empty() ? "" : why + " (inputs of magnitude " + fmt(c.magnitude) + ")";
}

std::vector<ForwardCase> smaller(const ForwardCase& c) {
  std::vector<ForwardCase> out;
  auto with = [&](auto change) {
    ForwardCase s = c;
    change(s);
    out.push_back(s);
  };
  for (Index ForwardCase::*field : {&ForwardCase::nq, &ForwardCase::nk, &ForwardCase::d}) {
    if (c.*field > 1) with([&](ForwardCase& s) { s.*field = std::max<Index>(1, c.*field / 2); });
    if (c.*field > 1) with([&](ForwardCase& s) { s.*field = c.*field - 1; });
  }
  for (Index ForwardCase::*field : {&ForwardCase::Br, &ForwardCase::Bc})
    if (c.*field > 1) with([&](ForwardCase& s) { s.*field = c.*field - 1; });
  if (c.causal) with([](ForwardCase& s) { s.causal = false; });
  if (c.magnitude > 1.0f) with([](ForwardCase& s) { s.magnitude = 1.0f; });
  return out;
}

}  // namespace

FLASHLAB_LAB_TEST("random shapes tiles and masks against float64", 10) {
  Sweep<ForwardCase> sweep;
  sweep.test_name = "random shapes";
  sweep.cases = 250;
  sweep.draw = draw;
  sweep.check = check;
  sweep.smaller = smaller;
  FLASHLAB_LAB_REQUIRE_OK(run_sweep(sweep));
}
