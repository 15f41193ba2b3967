// The randomised sweep's seed, its failure message and the random shapes (sweep.hpp).
#include <flashlab/labs/sweep.hpp>

#include <cstdlib>
#include <stdexcept>

#include <flashlab/labs/grading.hpp>

namespace flashlab::labs {

uint64_t sweep_seed() {
  const char* text = std::getenv("FLASHLAB_SEED");
  if (text == nullptr || *text == '\0') return std::random_device{}();
  char* end = nullptr;
  const unsigned long long seed = std::strtoull(text, &end, 10);
  if (*end != '\0' || *text == '-')
    throw std::invalid_argument(std::string("FLASHLAB_SEED='") + text +
                                "' is not a seed: give the decimal number a failed sweep printed");
  return seed;
}

std::string sweep_failure(uint64_t seed, int case_index, int cases, int shrink_steps,
                          const std::string& test_name, const std::string& why) {
  return "random case " + std::to_string(case_index + 1) + " of " + std::to_string(cases) +
         " failed (seed " + std::to_string(seed) +
         "; replay it with FLASHLAB_SEED=" + std::to_string(seed) + " flashlab-grade " +
         lab_info().id +
         (std::string(lab_info().impl) == "student" ? ""
                                                    : " --impl " + std::string(lab_info().impl)) +
         " --only '" + test_name + "'). " +
         (shrink_steps > 0 ? "Shrunk in " + std::to_string(shrink_steps) +
                                 " steps to the smallest case that still fails: "
                           : "") +
         why;
}

std::string SweepShape::describe() const {
  return describe_problem(nq, nk, d, Br, Bc, causal);
}

SweepShape draw_shape(std::mt19937_64& rng, int64_t max_n, int64_t max_d, int64_t max_tile,
                      bool may_be_causal) {
  SweepShape s;
  s.data_seed = rng();
  s.nq = uniform(rng, 1, max_n);
  s.nk = uniform(rng, 1, max_n);
  s.d = uniform(rng, 1, max_d);
  s.Br = uniform(rng, 1, max_tile);
  s.Bc = uniform(rng, 1, max_tile);
  s.causal = may_be_causal && uniform(rng, 0, 1) == 1;
  return s;
}

std::vector<SweepShape> smaller_shapes(const SweepShape& s) {
  std::vector<SweepShape> out;
  for (int64_t SweepShape::*size : {&SweepShape::nq, &SweepShape::nk, &SweepShape::d}) {
    if (s.*size <= 1) continue;
    out.push_back(s);
    out.back().*size = s.*size / 2;
    out.push_back(s);
    out.back().*size = s.*size - 1;
  }
  for (int64_t SweepShape::*tile : {&SweepShape::Br, &SweepShape::Bc}) {
    if (s.*tile <= 1) continue;
    out.push_back(s);
    out.back().*tile = s.*tile - 1;
  }
  if (s.causal) {
    out.push_back(s);
    out.back().causal = false;
  }
  return out;
}

}  // namespace flashlab::labs
