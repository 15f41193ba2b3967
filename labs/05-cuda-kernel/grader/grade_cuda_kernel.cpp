// Grader of lab 5 (README.md), part 1: the student's fused kernel on the GPU against the float64
// reference, with O and lse filled with NaN before every launch (so an unwritten element shows).
// A hint names a mistake only when the output equals what that mistake gives. Without a usable
// GPU the whole grader prints "SKIPPED: no GPU: ..." and exits 77.
#include <cuda_runtime.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <flashlab/labs/causal_tiles.hpp>
#include <flashlab/labs/grading.hpp>

#include "flash_kernel.hpp"
#include "gpu_checks.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab5;
using namespace flashlab::labs::lab5::grading;

// Runs in a child process (the runner's): a CUDA context must not exist before the fork.
std::string gpu_missing() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) return std::string("no GPU: ") + cudaGetErrorString(e);
  if (count == 0) return "no GPU: no CUDA device is visible";
  return "";
}
[[maybe_unused]] const bool kNeedsGpu = register_precondition(&gpu_missing);

constexpr int kTile = 32;  // the kernel's B_r = B_c (kBr, kBc in flash_kernel.cu)

// Sentences for a wrong causal output, each only when it equals what that mistake gives.
std::string causal_hint(const Case& c, const Output& got) {
  auto is = [&](const std::function<bool(int, int)>& allowed) {
    return compare(c, got, reference(c, allowed)).empty();
  };
  const int shift = c.p.seq_k - c.p.seq_q;
  if (is([](int, int) { return true; }))
    return ". Your output is the unmasked attention: the causal mask was not applied.";
  if (is([](int r, int col) { return col < r; }))
    return ". Your result is what masking the diagonal too gives: the rule is c <= r, the "
           "diagonal included (row 0 sees key 0).";
  if (shift != 0 && is([shift](int r, int col) { return col <= r + shift; }))
    return ". Your output is what bottom-right alignment gives (row r sees c <= r + N_k - N_q). "
           "flashlab aligns top-left, like PyTorch's is_causal: row r sees c <= r.";
  const CausalTiling t{c.p.seq_q, c.p.seq_k, kTile, kTile, ""};
  for (const SkipRule& rule : wrong_causal_skip_rules())
    if (is([&](int r, int col) { return col <= r && !in_skipped_tile(rule.skips, t, r, col); }))
      return ". Your output is " + explain(rule) +
             " The j loop must run to the tile that holds key r0 + rows - 1.";
  return "";
}

std::string check_causal(const Case& c) {
  const Output got = run_gpu(c);
  const std::string why = compare(c, got, reference(c));
  return why.empty() ? "" : why + causal_hint(c, got);
}

// Rows of three kinds in turn: scores near -150 (e^{-150} is 0 in float), near -3 and near +2;
// keys K_c = (1, a_c, 0, ...) with a_c in [-1, 1], scale 1.
Case negative_rows_case() {
  Case c = random_case(9, {1, 1, 96, 80, 16, 1.0f, false});
  c.p.scale = 1.0f;
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<float> a(-1.0f, 1.0f);
  const float level[] = {-150.0f, -3.0f, 2.0f};
  std::fill(c.q.begin(), c.q.end(), 0.0f);
  std::fill(c.k.begin(), c.k.end(), 0.0f);
  for (int r = 0; r < 96; ++r) c.q[size_t(r * 16)] = level[r % 3], c.q[size_t(r * 16 + 1)] = 2.0f;
  for (int col = 0; col < 80; ++col)
    c.k[size_t(col * 16)] = 1.0f, c.k[size_t(col * 16 + 1)] = a(rng);
  return c;
}

}  // namespace

FLASHLAB_LAB_TEST("one tile: N=16 and d=16", 10) {
  FLASHLAB_LAB_REQUIRE_OK(check(random_case(1, {1, 1, 16, 16, 16, 1, false})));
}

FLASHLAB_LAB_TEST("many tiles: N=256 and d=64", 10) {
  const std::string why = check(random_case(2, {1, 1, 256, 256, 64, 1, false}));
  if (!why.empty())
    FLASHLAB_LAB_FAIL(why + (check(random_case(1, {1, 1, 16, 16, 16, 1, false})).empty()
                                 ? ". One tile is right, so the tiles do not combine: TODOs 2-3 "
                                   "(m, l and the rescale of O_i)."
                                 : "."));
}

FLASHLAB_LAB_TEST("O is rescaled when a later K tile raises the row max", 15) {
  Case rising = random_case(3, {1, 1, 128, 128, 32, 1, false});
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uni(0.5f, 1.5f), noise(-0.05f, 0.05f);
  for (float& x : rising.q) x = uni(rng);
  for (int c = 0; c < 128; ++c)  // scores grow with the key index: every tile raises the max
    for (int e = 0; e < 32; ++e) rising.k[size_t(c * 32 + e)] = 0.05f * float(c) + noise(rng);
  Case falling = rising;  // the same keys and values in reverse: same attention, max in tile 0
  for (int c = 0; c < 128; ++c)
    for (int e = 0; e < 32; ++e) {
      falling.k[size_t(c * 32 + e)] = rising.k[size_t((127 - c) * 32 + e)];
      falling.v[size_t(c * 32 + e)] = rising.v[size_t((127 - c) * 32 + e)];
    }
  const std::string why = check(rising);
  if (why.empty()) return;
  FLASHLAB_LAB_FAIL("scores rising with the key index: " + why +
                    (check(falling).empty()
                         ? ". The same keys in falling order give the right O, so O_i was not "
                           "rescaled by alpha = e^{m_old - m_new} when a later tile raised the "
                           "row max (TODO 3: O_i <- diag(alpha) O_i + P~ V_j)."
                         : "."));
}

FLASHLAB_LAB_TEST("ragged tiles: seq_q=100 seq_k=75 and d=24", 10) {
  FLASHLAB_LAB_REQUIRE_OK(check(random_case(4, {1, 1, 100, 75, 24, 1, false})));
}

FLASHLAB_LAB_TEST("batch and heads index the right slices", 10) {
  FLASHLAB_LAB_REQUIRE_OK(check(random_case(5, {2, 3, 64, 48, 32, 1, false})));
}

FLASHLAB_LAB_TEST("causal mask is top-left and includes the diagonal", 10) {
  FLASHLAB_LAB_REQUIRE_OK(check_causal(random_case(6, {1, 2, 96, 96, 32, 1, true})));
}

FLASHLAB_LAB_TEST("causal with seq_q != seq_k", 5) {
  FLASHLAB_LAB_REQUIRE_OK(check_causal(random_case(7, {2, 1, 70, 130, 16, 1, true})));
}

FLASHLAB_LAB_TEST("causal: a key tile that starts at a query tile's last row", 10) {
  // seq_q = 65: the last query tile holds row 64 only, and key tile 2 starts at key 64; with
  // seq_q = 33 the same happens at row 32 and key tile 1.
  FLASHLAB_LAB_REQUIRE_OK(check_causal(random_case(10, {1, 1, 65, 97, 32, 1, true})));
  FLASHLAB_LAB_REQUIRE_OK(check_causal(random_case(11, {1, 2, 33, 40, 16, 1, true})));
}

FLASHLAB_LAB_TEST("rows whose scores are all negative: near -3 and near -150", 5) {
  const Case c = negative_rows_case();
  const Output got = run_gpu(c);
  const std::string why = compare(c, got, reference(c));
  if (why.empty()) return;
  // Which kinds of rows are wrong: the running max starting at 0 breaks only the far ones.
  const auto ref = reference(c);
  bool far_wrong = false, others_wrong = false;
  for (int r = 0; r < 96; ++r) {
    const bool wrong = std::abs(got.lse[size_t(r)] - ref.lse.data[size_t(r)]) >
                           1e-4 * (1 + std::abs(ref.lse.data[size_t(r)])) ||
                       !std::isfinite(got.lse[size_t(r)]);
    (r % 3 == 0 ? far_wrong : others_wrong) |= wrong;
  }
  FLASHLAB_LAB_FAIL(
      "Q_r = (-150, 2, 0, ...), (-3, 2, 0, ...), (2, 2, 0, ...) in turn, "
      "K_c = (1, a_c, 0, ...) with a_c in [-1, 1], scale 1: " +
      why +
      (far_wrong && !others_wrong
           ? ". Only the rows whose scores are near -150 are wrong: the running "
             "max m must start at -inf, not 0 (with m = 0, e^{S - m} underflows "
             "to 0 and l = 0)."
           : ""));
}

FLASHLAB_LAB_TEST("larger problem: N=2048 and d=64 with 4 heads", 10) {
  FLASHLAB_LAB_REQUIRE_OK(check(random_case(8, {1, 4, 2048, 2048, 64, 1, false})));
}
