// A submission for the batch tests (tests/labs/submit_test.cpp): it aborts while the program
// starts, before the grader can run a test, so the grader itself dies: 0, "crashed".
#include <cstdlib>

#include "io_aware.hpp"

namespace flashlab::labs::lab3 {

static const int kNever = (std::abort(), 0);

TileSizes choose_tiles(int64_t, int, int64_t) {
  return {kNever, kNever};
}

void flash_forward_on_machine(sim::Machine&, const sim::HeadProblem&) {}

}  // namespace flashlab::labs::lab3
