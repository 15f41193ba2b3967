// Grader of lab 6 (README.md): tile classification against a score-by-score scan of the mask,
// the block-skipping forward (FA1 Alg. 5) on the simulator against the float64 reference, and its
// HBM bytes and FLOPs against the blocks the mask leaves.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/core/options.hpp>
#include <flashlab/core/tile_visibility.hpp>
#include <flashlab/labs/grading.hpp>
#include <flashlab/reference/attention.hpp>
#include <flashlab/simulator/simulate.hpp>

#include "sparsity.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab6;
using namespace flashlab::simulator;
using flashlab::AttentionOptions;
using flashlab::AttentionShape;
using flashlab::Tensor;
using T = TensorId;

constexpr int kBytes = 2;

const char* name(Coverage c) {
  return c == Coverage::None ? "None" : c == Coverage::Full ? "Full" : "Partial";
}

// The truth, by visiting every score of the tile.
Coverage scan(const flashlab::MaskParams& mask, const TileRect& s, std::string* why) {
  bool any = false, all = true;
  int64_t allowed[2] = {0, 0}, masked[2] = {0, 0};
  for (int64_t r = s.row0; r < s.row0 + s.rows; ++r)
    for (int64_t c = s.col0; c < s.col0 + s.cols; ++c) {
      const bool ok = mask.allows(r, c);
      if (ok && !any) allowed[0] = r, allowed[1] = c;
      if (!ok && all) masked[0] = r, masked[1] = c;
      any = any || ok;
      all = all && ok;
    }
  auto at = [](const int64_t* rc) {
    return "(" + std::to_string(rc[0]) + ", " + std::to_string(rc[1]) + ")";
  };
  if (why)
    *why = (any ? "score " + at(allowed) + " is allowed" : "no score is allowed") +
           std::string(all ? " and none is masked" : ", score " + at(masked) + " is masked");
  return !any ? Coverage::None : all ? Coverage::Full : Coverage::Partial;
}

std::string rect_str(const TileRect& s) {
  return "rows " + std::to_string(s.row0) + ".." + std::to_string(s.row0 + s.rows - 1) +
         " x cols " + std::to_string(s.col0) + ".." + std::to_string(s.col0 + s.cols - 1);
}

// Every tile of an n_q x n_k score matrix cut in Br x Bc tiles, classified both ways.
std::string check_tiles(const flashlab::MaskParams& mask, const std::string& what, int64_t nq,
                        int64_t nk, int64_t Br, int64_t Bc) {
  for (int64_t r0 = 0; r0 < nq; r0 += Br)
    for (int64_t c0 = 0; c0 < nk; c0 += Bc) {
      const TileRect s{r0, std::min(Br, nq - r0), c0, std::min(Bc, nk - c0)};
      std::string why;
      const Coverage want = scan(mask, s, &why), got = classify_tile(mask, s);
      if (got != want)
        return what + ", tiles of " + std::to_string(Br) + " x " + std::to_string(Bc) + ": tile " +
               rect_str(s) + " expected " + name(want) + " (" + why + "), got " + name(got) +
               (want == Coverage::Partial && got == Coverage::None
                    ? ". Skipping it loses an allowed score: a causal tile is hidden only when "
                      "its first column is > its last row."
                : want == Coverage::Partial && got == Coverage::Full
                    ? ". Calling it Full skips the mask step and lets masked scores in: the "
                      "causal tile is Full only when its last column is <= its first row."
                    : ".");
    }
  return "";
}

flashlab::MaskParams params_of(const AttentionOptions& o, const AttentionShape& s) {
  return flashlab::make_params(o, s).mask;
}

struct Run {
  std::string error;
  IoStats stats;
  std::vector<float> O, l, m;
};

Run run_student(const AttentionShape& shape, const AttentionOptions& opt, flashlab::TileSizes tiles,
                const std::vector<Tensor<float>>* qkv) {
  Run r;
  MachineConfig mc;
  mc.sram_bytes = 192 * 1024;
  mc.element_bytes = kBytes;
  mc.counting_only = qkv == nullptr;
  mc.params = flashlab::make_params(opt, shape);
  Machine M(mc, nullptr);
  M.set_context("your sparse_forward_on_machine");
  M.begin_head(0, 0, false);
  const T ids[] = {T::Q, T::K, T::V};
  for (int k = 0; k < 3; ++k)
    M.hbm().upload(ids[k], k == 0 ? shape.seq_q : shape.seq_k, shape.head_dim,
                   qkv ? (*qkv)[size_t(k)].ptr() : nullptr);
  try {
    sparse_forward_on_machine(M, make_head_problem(shape, mc.params, tiles));
  } catch (const flashlab::Error& e) {
    r.error = e.what();
  }
  r.stats = M.stats();
  if (qkv && r.error.empty() && M.hbm().defined(T::O)) {
    r.O.assign(M.hbm().data(T::O).begin(), M.hbm().data(T::O).end());
    r.l.assign(M.hbm().data(T::l).begin(), M.hbm().data(T::l).end());
    r.m.assign(M.hbm().data(T::m).begin(), M.hbm().data(T::m).end());
  }
  return r;
}

std::vector<Tensor<float>> random_qkv(unsigned seed, const AttentionShape& s) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<Tensor<float>> t = {Tensor<float>(flashlab::q_dims(s)),
                                  Tensor<float>(flashlab::kv_dims(s)),
                                  Tensor<float>(flashlab::kv_dims(s))};
  for (auto& x : t)
    for (float& v : x.data) v = normal(rng);
  return t;
}

std::string check_forward(const AttentionShape& s, const AttentionOptions& opt,
                          flashlab::TileSizes tiles, const std::string& what) {
  const auto qkv = random_qkv(11, s);
  const Run r = run_student(s, opt, tiles, &qkv);
  if (!r.error.empty()) return what + ": the machine refused a step: " + r.error;
  std::vector<Tensor<double>> in;
  for (const auto& t : qkv) {
    Tensor<double> x(t.dims);
    for (size_t k = 0; k < t.data.size(); ++k) x.data[k] = double(t.data[k]);
    in.push_back(std::move(x));
  }
  const auto ref = flashlab::reference::attention_forward(s, opt, in[0], in[1], in[2]);
  const size_t d = size_t(s.head_dim);
  if (const auto k = first_mismatch(ref.O.data, r.O, 1e-4, 1e-4))
    return what + ": O[" + std::to_string(*k / d) + "][" + std::to_string(*k % d) + "] expected " +
           fmt(ref.O.data[*k]) + ", got " + fmt(r.O[*k]) +
           ". If the classification tests pass, check which coverage goes with which "
           "process_block(..., apply_mask) call.";
  return "";
}

// The tiles the mask leaves (core's rule, tested against a scan in tests/core): their count and
// the rows and row x col they cover.
struct Active {
  int64_t tiles = 0, rows = 0, area = 0;
};
Active active_tiles(const flashlab::MaskParams& mask, int64_t n, int64_t B) {
  Active a;
  for (int64_t r0 = 0; r0 < n; r0 += B)
    for (int64_t c0 = 0; c0 < n; c0 += B) {
      const TileRect s{r0, std::min(B, n - r0), c0, std::min(B, n - c0)};
      if (flashlab::tile_visibility(mask, s.row0, s.rows, s.col0, s.cols) ==
          flashlab::TileVisibility::None)
        continue;
      ++a.tiles;
      a.rows += s.rows;
      a.area += s.rows * s.cols;
    }
  return a;
}

SimForward simulator_run(Algorithm alg, bool causal) {
  SimConfig c;
  c.algorithm = alg;
  c.shape = {1, 1, 1024, 1024, 64};
  c.options.causal = causal;
  c.tiles = flashlab::TileSizes{64, 64};
  c.counting_only = true;
  return simulate_forward(c, nullptr, nullptr, nullptr);
}

}  // namespace

FLASHLAB_LAB_TEST("classify: causal tiles below on and above the diagonal", 15) {
  for (const auto& [nq, nk] : {std::pair<int64_t, int64_t>{40, 40}, {24, 40}, {40, 24}}) {
    const AttentionShape s{1, 1, nq, nk, 8};
    AttentionOptions opt;
    opt.causal = true;
    for (const auto& [Br, Bc] :
         {std::pair<int64_t, int64_t>{8, 8}, {6, 10}, {10, 6}, {1, 7}, {13, 13}})
      FLASHLAB_LAB_REQUIRE_OK(check_tiles(
          params_of(opt, s), "causal, N_q=" + std::to_string(nq) + ", N_k=" + std::to_string(nk),
          nq, nk, Br, Bc));
  }
}

FLASHLAB_LAB_TEST("classify: block-sparse layouts with and without causal", 15) {
  const AttentionShape s{1, 1, 40, 40, 8};
  const std::vector<std::pair<std::string, flashlab::BlockMask>> masks = {
      {"butterfly blocks of 8", flashlab::butterfly_mask(40, 40, 8)},
      {"local window 1, blocks of 5", flashlab::local_mask(40, 40, 5, 1)},
      {"random density 0.4, blocks of 4", flashlab::random_mask(40, 40, 4, 0.4, 7)}};
  for (const auto& [what, mask] : masks)
    for (bool causal : {false, true}) {
      AttentionOptions opt;
      opt.block_mask = mask;
      opt.causal = causal;
      for (const auto& [Br, Bc] : {std::pair<int64_t, int64_t>{8, 8}, {6, 10}, {16, 16}})
        FLASHLAB_LAB_REQUIRE_OK(
            check_tiles(params_of(opt, s), what + (causal ? " and causal" : ""), 40, 40, Br, Bc));
    }
}

FLASHLAB_LAB_TEST("sparse forward matches the reference: causal", 15) {
  AttentionOptions opt;
  opt.causal = true;
  FLASHLAB_LAB_REQUIRE_OK(
      check_forward({1, 1, 96, 96, 16}, opt, {16, 16}, "causal, N=96, d=16, 16 x 16 tiles"));
  FLASHLAB_LAB_REQUIRE_OK(check_forward({1, 1, 50, 70, 16}, opt, {12, 9},
                                        "causal, N_q=50, N_k=70, d=16, 12 x 9 tiles"));
}

FLASHLAB_LAB_TEST("sparse forward matches the reference: butterfly block mask", 10) {
  AttentionOptions opt;
  opt.block_mask = flashlab::butterfly_mask(128, 128, 8);
  FLASHLAB_LAB_REQUIRE_OK(check_forward({1, 1, 128, 128, 16}, opt, {16, 16},
                                        "butterfly blocks of 8, N=128, d=16, 16 x 16 tiles"));
}

FLASHLAB_LAB_TEST("skipped blocks are neither loaded nor computed", 15) {
  const AttentionShape s{1, 1, 256, 256, 32};
  AttentionOptions opt;
  opt.causal = true;
  const std::string wrong = check_forward(s, opt, {32, 32}, "causal, N=256, d=32, 32 x 32 tiles");
  if (!wrong.empty()) FLASHLAB_LAB_FAIL("fix the outputs first: " + wrong);
  const Run r = run_student(s, opt, {32, 32}, nullptr);
  const Active a = active_tiles(params_of(opt, s), 256, 32);
  const int64_t q_bytes = a.rows * 32 * kBytes, flops = 4 * a.area * 32;
  if (r.stats[T::Q].bytes_read > q_bytes)
    FLASHLAB_LAB_FAIL("Q was read " + std::to_string(r.stats[T::Q].bytes_read) + " bytes; the " +
                      std::to_string(a.tiles) + " of 64 tiles the causal mask leaves need " +
                      std::to_string(q_bytes) + ". Q_i was loaded for " +
                      fmt(double(r.stats[T::Q].bytes_read - q_bytes) / (32.0 * 32 * kBytes)) +
                      " tiles that the mask hides entirely: skip them before process_block "
                      "(FA1 Alg. 5 l. 8: if M_ij != 0), so they are neither loaded nor computed.");
  if (r.stats.matmul_flops > flops)
    FLASHLAB_LAB_FAIL(std::to_string(r.stats.matmul_flops) +
                      " matmul FLOPs; the tiles the mask "
                      "leaves need " +
                      std::to_string(flops) +
                      " (4 rows cols d each): tiles the "
                      "mask hides entirely were computed.");
}

FLASHLAB_LAB_TEST("causal saves bytes at N=1024 and d=64", 10) {
  const AttentionShape s{1, 1, 1024, 1024, 64};
  AttentionOptions opt;
  opt.causal = true;
  const Run r = run_student(s, opt, {64, 64}, nullptr);
  if (!r.error.empty()) FLASHLAB_LAB_FAIL("the run stopped: " + r.error);
  const Active a = active_tiles(params_of(opt, s), 1024, 64);
  const int64_t N = 1024, d = 64;
  const int64_t bound = kBytes * (2 * N * d + N * d + 2 * N + a.rows * (3 * d + 4));
  const int64_t dense = kBytes * (2 * N * d + N * d + 2 * N + 16 * N * (3 * d + 4));
  if (r.stats.total_bytes() > bound)
    FLASHLAB_LAB_FAIL("your causal forward moves " + std::to_string(r.stats.total_bytes()) +
                      " bytes; FA1 Alg. 5 moves at most " + std::to_string(bound) + " (" +
                      std::to_string(a.tiles) + " of 256 tiles computed), the dense FA1 Alg. 1 " +
                      std::to_string(dense) +
                      ". Proposition 4: Theta(N d + N^2 d^2 s / M) with s "
                      "the fraction of tiles kept.");
}

FLASHLAB_LAB_TEST("answers: causal savings at N=1024", 10) {
  flashlab::AttentionOptions opt;
  opt.causal = true;
  const Active a = active_tiles(params_of(opt, {1, 1, 1024, 1024, 64}), 1024, 64);
  const std::string how =
      " Run simulate_forward in counting-only mode with tiles 64 x 64 "
      "(docs/simulator.md), or flashlab compare.";
  FLASHLAB_LAB_REQUIRE_OK(check_answers({
      {"causal_active_tiles", double(a.tiles), 0.0, "Question 1: tiles with a score c <= r."},
      {"causal_flash_bytes", double(simulator_run(Algorithm::Flash, true).stats.total_bytes()),
       1e-6, "Question 2." + how},
      {"dense_flash_bytes", double(simulator_run(Algorithm::Flash, false).stats.total_bytes()),
       1e-6, "Question 2." + how},
  }));
}

FLASHLAB_LAB_TEST("answers: butterfly density and standard attention with a mask", 10) {
  const std::string how =
      " Run simulate_forward in counting-only mode with tiles 64 x 64 "
      "(docs/simulator.md), or flashlab compare.";
  FLASHLAB_LAB_REQUIRE_OK(check_answers({
      {"butterfly_density", flashlab::butterfly_mask(1024, 1024, 64).density(), 1e-3,
       "Question 3: the fraction of the 16 x 16 blocks with i == j or i XOR j a power of two."},
      {"standard_causal_bytes",
       double(simulator_run(Algorithm::Standard, true).stats.total_bytes()), 1e-6,
       "Question 4: standard attention masks S in one more pass over HBM." + how},
  }));
}
