// Grader of lab 3 (README.md), part 2: choose_tiles beyond the handout's one case. For 2- and
// 4-byte elements, head dims 16 to 128 and two SRAM sizes, the student's own forward must run
// with the tiles chosen (nothing overflows), and FA1 Alg. 1 with them must move at most 10% more
// bytes than with the simulator's tiles for that SRAM (a B_c smaller than fits costs passes).
#include <string>

#include <flashlab/labs/grading.hpp>
#include <flashlab/simulator/simulate.hpp>

#include "io_aware.hpp"
#include "io_checks.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab3;
using namespace flashlab::labs::lab3::grading;
using flashlab::TileSizes;

bool same(const TileSizes& a, const TileSizes& b) {
  return a.block_rows == b.block_rows && a.block_cols == b.block_cols;
}

std::string tiles_str(const TileSizes& t) {
  return "B_r=" + std::to_string(t.block_rows) + ", B_c=" + std::to_string(t.block_cols);
}

// A sentence only when choose_tiles visibly ignores one of its arguments, or the forward leaks.
std::string tiles_hint(int64_t sram, int64_t d) {
  if (same(choose_tiles(sram, 2, d), choose_tiles(sram, 4, d)))
    return " Your choose_tiles gives the same tiles for 2- and 4-byte elements: element_bytes "
           "is ignored, but the SRAM holds M = sram_bytes / element_bytes elements.";
  if (same(choose_tiles(sram, 2, 16), choose_tiles(sram, 2, 128)))
    return " Your choose_tiles gives the same tiles for d = 16 and d = 128: head_dim is ignored, "
           "but every tile has d columns (B_c = ceil(M / 4d)).";
  if (leaks())
    return " Your forward leaves tiles allocated after it returns (see the test 'every SRAM "
           "tile is freed').";
  return "";
}

}  // namespace

FLASHLAB_LAB_TEST("choose_tiles fits and fills the SRAM for 2- and 4-byte elements and d 16 to 128",
                  15) {
  for (int bytes : {2, 4})
    for (int64_t d : {16, 32, 64, 128})
      for (int64_t sram : {48 * 1024, 100 * 1024}) {
        const TileSizes t = choose_tiles(sram, bytes, d);
        const std::string call = "choose_tiles(" + std::to_string(sram) + ", " +
                                 std::to_string(bytes) + ", " + std::to_string(d) +
                                 ") = " + tiles_str(t);
        if (t.block_rows < 1 || t.block_cols < 1) FLASHLAB_LAB_FAIL(call + ": both must be >= 1.");
        const flashlab::AttentionShape shape{1, 1, 512, 512, d};
        const Run r = run_student(shape, t, sram, nullptr, bytes);
        if (!r.error.empty())
          FLASHLAB_LAB_FAIL(call + ": your forward with these tiles at N = 512 stopped: " +
                            r.error + tiles_hint(sram, d));
        const auto lib = simulator_run(flashlab::simulator::Algorithm::Flash, shape, sram, bytes);
        const int64_t yours = alg1_bytes(shape, t, bytes),
                      best = alg1_bytes(shape, lib.tiles, bytes);
        if (double(yours) > 1.10 * double(best))
          FLASHLAB_LAB_FAIL(
              call + ": FA1 Alg. 1 with these tiles moves " + std::to_string(yours) +
              " bytes at N = 512 (T_c = " + std::to_string(flashlab::ceil_div(512, t.block_cols)) +
              " passes over Q and O); with the simulator's tiles for this SRAM (" +
              tiles_str(lib.tiles) + ") it moves " + std::to_string(best) +
              ". Take the largest B_c that fits." + tiles_hint(sram, d));
      }
}
