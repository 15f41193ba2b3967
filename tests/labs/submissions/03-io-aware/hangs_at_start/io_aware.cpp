// A submission for the batch tests (tests/labs/submit_test.cpp): it never finishes starting up,
// so the grader never reports anything and the whole run is stopped at --grader-timeout: 0,
// "timed out".
#include <chrono>
#include <thread>

#include "io_aware.hpp"

namespace flashlab::labs::lab3 {

static int forever() {
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}
static const int kNever = forever();

TileSizes choose_tiles(int64_t, int, int64_t) {
  return {kNever, kNever};
}

void flash_forward_on_machine(sim::Machine&, const sim::HeadProblem&) {}

}  // namespace flashlab::labs::lab3
