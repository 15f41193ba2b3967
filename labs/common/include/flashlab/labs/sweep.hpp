// The randomised sweep of every CPU lab's grader: many small random cases (shapes, tiles, masks,
// input scales) checked against the float64 reference. The first failing case is shrunk to the
// smallest one that still fails and reported with the seed that replays the whole sweep
// (FLASHLAB_SEED=<seed> in the environment; a fresh seed otherwise).
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace flashlab::labs {

// This run's seed: FLASHLAB_SEED when set (it must be a decimal number; anything else throws
// std::invalid_argument naming the value), else a fresh one.
uint64_t sweep_seed();

// The message of a failed sweep: where it failed, the seed, how to replay it, and `why` (the
// check's message for the shrunk case).
std::string sweep_failure(uint64_t seed, int case_index, int cases, int shrink_steps,
                          const std::string& test_name, const std::string& why);

template <typename Case>
struct Sweep {
  std::string test_name;  // for the replay command (--only)
  int cases = 200;
  std::function<Case(std::mt19937_64&)> draw;             // one random case
  std::function<std::string(const Case&)> check;          // "" when the case is right
  std::function<std::vector<Case>(const Case&)> smaller;  // simpler variants of a case
};

// Runs the sweep: "" when every case passes, else sweep_failure() for the first failing case,
// shrunk greedily (the first smaller variant that still fails replaces it, until none does).
template <typename Case>
std::string run_sweep(const Sweep<Case>& sweep) {
  constexpr int kMaxShrinkChecks = 400;  // bounds the time a failure takes to report
  const uint64_t seed = sweep_seed();
  std::mt19937_64 rng(seed);
  for (int k = 0; k < sweep.cases; ++k) {
    Case c = sweep.draw(rng);
    std::string why = sweep.check(c);
    if (why.empty()) continue;
    int checks = 0, steps = 0;
    for (bool shrunk = true; shrunk && checks < kMaxShrinkChecks;) {
      shrunk = false;
      for (const Case& s : sweep.smaller(c)) {
        if (++checks > kMaxShrinkChecks) break;
        std::string w = sweep.check(s);
        if (w.empty()) continue;
        c = s;
        why = std::move(w);
        shrunk = true;
        ++steps;
        break;
      }
    }
    return sweep_failure(seed, k, sweep.cases, steps, sweep.test_name, why);
  }
  return "";
}

// The shape of one random attention problem of the sweeps of labs 2, 3, 4 and 6; its data comes
// from data_seed.
struct SweepShape {
  uint64_t data_seed = 0;
  int64_t nq = 1, nk = 1, d = 1, Br = 1, Bc = 1;
  bool causal = false;
  std::string describe() const;  // describe_problem()
};
// N_q, N_k in [1, max_n], d in [1, max_d], B_r, B_c in [1, max_tile]; causal with probability
// 1/2 when `may_be_causal`.
SweepShape draw_shape(std::mt19937_64& rng, int64_t max_n, int64_t max_d, int64_t max_tile,
                      bool may_be_causal);
// The variants that shrink one thing: N_q, N_k or d halved or less one, B_r or B_c less one,
// causal off.
std::vector<SweepShape> smaller_shapes(const SweepShape& s);

// A random integer in [lo, hi].
inline int64_t uniform(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

}  // namespace flashlab::labs
