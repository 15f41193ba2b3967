// A submission for the batch tests (tests/labs/submit_test.cpp): both functions crash, so every
// test fails with the signal and the submission gets 0 without stopping the batch.
#include <csignal>

#include "io_aware.hpp"

namespace flashlab::labs::lab3 {

TileSizes choose_tiles(int64_t, int, int64_t) {
  std::raise(SIGSEGV);
  return {1, 1};
}

void flash_forward_on_machine(sim::Machine&, const sim::HeadProblem&) {
  std::raise(SIGSEGV);
}

}  // namespace flashlab::labs::lab3
