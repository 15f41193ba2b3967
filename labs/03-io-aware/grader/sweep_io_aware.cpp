// Grader of lab 3 (README.md), part 3: the randomised sweep. Random shapes (N_q, N_k up to 48,
// d up to 16) and tiles (B_r, B_c up to 16, either larger) on a large SRAM: O, m and l against
// float64, K and V read exactly once, and the total bytes within FA1 Alg. 1's count.
#include <random>
#include <string>

#include <flashlab/labs/grading.hpp>
#include <flashlab/labs/sweep.hpp>

#include "io_aware.hpp"
#include "io_checks.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab3::grading;
using flashlab::simulator::TensorId;

SweepShape draw(std::mt19937_64& rng) {
  return draw_shape(rng, 48, 16, 16, false);
}

std::string check(const SweepShape& c) {
  const flashlab::AttentionShape s{1, 1, c.nq, c.nk, c.d};
  const auto qkv = random_qkv(c.data_seed, s);
  const Run r = run_student(s, {c.Br, c.Bc}, 1 << 24, &qkv);
  if (std::string why = check_outputs(r, qkv); !why.empty()) return why;
  const int64_t kv_bytes = c.nk * c.d * kBytes;
  for (const TensorId t : {TensorId::K, TensorId::V})
    if (r.stats[t].bytes_read != kv_bytes)
      return "with " + describe(r) + ": " + flashlab::simulator::tensor_name(t) + " was read " +
             std::to_string(r.stats[t].bytes_read) + " bytes, its size is " +
             std::to_string(kv_bytes) + " (read once)";
  if (const int64_t bound = alg1_bytes(s, r.tiles); r.stats.total_bytes() > bound)
    return "with " + describe(r) + ": " + std::to_string(r.stats.total_bytes()) +
           " bytes moved, FA1 Alg. 1 moves " + std::to_string(bound);
  return "";
}

}  // namespace

FLASHLAB_LAB_TEST("random shapes and tiles: outputs and bytes against float64 and FA1 Alg. 1", 10) {
  FLASHLAB_LAB_REQUIRE_OK(
      run_sweep(Sweep<SweepShape>{"random shapes", 200, draw, check, smaller_shapes}));
}
