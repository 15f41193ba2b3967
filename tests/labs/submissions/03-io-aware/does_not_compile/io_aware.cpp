// A submission for the batch tests (tests/labs/submit_test.cpp): it does not compile (a
// misspelt type), so it must get 0 with the compiler's first error as the reason.
#include "io_aware.hpp"

namespace flashlab::labs::lab3 {

TileSizes choose_tiles(int64_t sram_bytes, int element_bytes, int64_t head_dim) {
  TileSize t{sram_bytes / element_bytes / (4 * head_dim), head_dim};
  return t;
}

void flash_forward_on_machine(sim::Machine&, const sim::HeadProblem&) {}

}  // namespace flashlab::labs::lab3
