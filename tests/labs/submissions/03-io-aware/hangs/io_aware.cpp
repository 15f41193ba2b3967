// A submission for the batch tests (tests/labs/submit_test.cpp): both functions never return, so
// every test runs into the per-test time limit: 0, each test "timed out".
#include <chrono>
#include <thread>

#include "io_aware.hpp"

namespace flashlab::labs::lab3 {

TileSizes choose_tiles(int64_t, int, int64_t) {
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}

void flash_forward_on_machine(sim::Machine&, const sim::HeadProblem&) {
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}

}  // namespace flashlab::labs::lab3
