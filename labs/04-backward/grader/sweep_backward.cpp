// Grader of lab 4 (README.md), part 3: the randomised sweep. Random shapes (N_q, N_k up to 40,
// d up to 16), tiles (B_r, B_c up to 12, either larger), causal or not; dQ, dK, dV against the
// float64 reference backward.
#include <random>
#include <string>
#include <vector>

#include <flashlab/labs/grading.hpp>
#include <flashlab/labs/sweep.hpp>

#include "backward.hpp"
#include "backward_checks.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab4;
using namespace flashlab::labs::lab4::grading;

struct BackwardCase {
  uint64_t data_seed = 0;
  Index nq = 1, nk = 1, d = 1, Br = 1, Bc = 1;
  bool causal = false;
};

BackwardCase draw(std::mt19937_64& rng) {
  BackwardCase c;
  c.data_seed = rng();
  c.nq = uniform(rng, 1, 40);
  c.nk = uniform(rng, 1, 40);
  c.d = uniform(rng, 1, 16);
  c.Br = uniform(rng, 1, 12);
  c.Bc = uniform(rng, 1, 12);
  c.causal = uniform(rng, 0, 1) == 1;
  return c;
}

std::string check(const BackwardCase& c) {
  const Problem p = make_problem(c.data_seed, c.nq, c.nk, c.d, c.Br, c.Bc, c.causal);
  return compare_all(p, p.ref, run(p));
}

std::vector<BackwardCase> smaller(const BackwardCase& c) {
  std::vector<BackwardCase> out;
  auto with = [&](auto change) {
    BackwardCase s = c;
    change(s);
    out.push_back(s);
  };
  for (Index BackwardCase::*field : {&BackwardCase::nq, &BackwardCase::nk, &BackwardCase::d}) {
    if (c.*field > 1) with([&](BackwardCase& s) { s.*field = std::max<Index>(1, c.*field / 2); });
    if (c.*field > 1) with([&](BackwardCase& s) { s.*field = c.*field - 1; });
  }
  for (Index BackwardCase::*field : {&BackwardCase::Br, &BackwardCase::Bc})
    if (c.*field > 1) with([&](BackwardCase& s) { s.*field = c.*field - 1; });
  if (c.causal) with([](BackwardCase& s) { s.causal = false; });
  return out;
}

}  // namespace

FLASHLAB_LAB_TEST("random shapes tiles and masks against float64", 10) {
  Sweep<BackwardCase> sweep;
  sweep.test_name = "random shapes";
  sweep.cases = 250;
  sweep.draw = draw;
  sweep.check = check;
  sweep.smaller = smaller;
  FLASHLAB_LAB_REQUIRE_OK(run_sweep(sweep));
}
