// The fused kernels skip exactly the tiles the simulator skips, and apply the element mask exactly
// where a tile needs it, on causal and rectangular block-sparse masks: read from the kernels'
// debug record of visited tiles (ForwardArgs::tile_log), against the simulator run with the
// kernels' own tiles (flash_forward_tiles, flash_backward_tiles).
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <flashlab/core/tile_visibility.hpp>
#include <flashlab/simulator/simulate.hpp>
#include <flashlab/test/random.hpp>

#include "gpu_harness.hpp"

using namespace flashlab;
using flashlab::cuda::DType;

namespace {

// A mask to test: causal or not, and a block-sparse layout of block_rows x block_cols blocks
// (block_rows == 0: none), each block on with probability `density`.
struct MaskCase {
  AttentionShape shape;
  bool causal;
  int64_t block_rows, block_cols;
  double density;
};

std::string describe(const MaskCase& m) {
  return to_string(m.shape) + (m.causal ? " causal" : "") +
         (m.block_rows > 0
              ? " blocks " + std::to_string(m.block_rows) + "x" + std::to_string(m.block_cols) +
                    " density " + std::to_string(m.density)
              : "");
}

AttentionOptions options_of(const MaskCase& m, std::mt19937_64& rng) {
  AttentionOptions o;
  o.causal = m.causal;
  if (m.block_rows > 0) {
    const int64_t rows = ceil_div(m.shape.seq_q, m.block_rows);
    const int64_t cols = ceil_div(m.shape.seq_k, m.block_cols);
    std::bernoulli_distribution on(m.density);
    std::vector<uint8_t> layout(size_t(rows * cols));
    for (uint8_t& v : layout) v = on(rng) ? 1 : 0;
    o.block_mask = block_sparse_mask(std::move(layout), rows, cols, m.block_rows, m.block_cols);
  }
  return o;
}

// Tile (bh, i, j): bh = batch * heads + head, i the query block, j the key block.
using TileId = std::tuple<int64_t, int64_t, int64_t>;

// The tiles the simulator skips when it runs `algorithm` with `tiles` (counting only).
std::set<TileId> simulator_skips(const MaskCase& m, const AttentionOptions& options,
                                 const TileSizes& tiles, bool backward) {
  simulator::SimConfig c;
  c.algorithm = backward ? simulator::Algorithm::Flash : simulator::Algorithm::Flash2;
  c.shape = m.shape;
  c.options = options;
  c.tiles = tiles;
  c.sram_bytes = int64_t{64} << 20;  // only the skipping matters, not whether the tiles fit
  c.counting_only = true;
  c.record_trace = true;
  const simulator::Trace trace =
      backward ? simulator::simulate_backward(c, nullptr, nullptr, nullptr, nullptr).trace
               : simulator::simulate_forward(c, nullptr, nullptr, nullptr).trace;
  std::set<TileId> skipped;
  for (const simulator::Event& e : trace.events)
    if (e.kind == simulator::EventKind::Skip)
      skipped.insert({e.batch * m.shape.heads + e.head, e.i, e.j});
  return skipped;
}

// What the kernels must record for a tile they compute: kTileMasked when the tile is not Full or
// holds padding past the sequences (the forward pads keys only: its rows past seq_q are never
// stored; the backward pads both), else kTileComputed.
uint8_t expected_flag(const MaskParams& mask, const MaskCase& m, const TileSizes& t, int64_t i,
                      int64_t j, bool backward) {
  const int64_t row0 = i * t.block_rows, col0 = j * t.block_cols;
  const int64_t rows = std::min(t.block_rows, m.shape.seq_q - row0);
  const int64_t cols = std::min(t.block_cols, m.shape.seq_k - col0);
  const bool padded = cols < t.block_cols || (backward && rows < t.block_rows);
  return padded || tile_visibility(mask, row0, rows, col0, cols) != TileVisibility::Full
             ? cuda::kTileMasked
             : cuda::kTileComputed;
}

// Counts over every case and kernel, so that the test shows it met each kind of tile.
struct Seen {
  int64_t skipped = 0, computed = 0, masked = 0;
};

// Runs the forward (and, for `backward`, the backward after it) of one kernel with the tile log
// on, and compares the log with the simulator's skips and the expected mask flags.
void check_tiles(const MaskCase& m, cuda::FusedKernel kernel, bool backward, std::mt19937_64& rng,
                 Seen& seen) {
  const AttentionOptions options = options_of(m, rng);
  const TileSizes tiles = backward ? cuda::flash_backward_tiles(m.shape.head_dim, false, kernel)
                                   : cuda::flash_forward_tiles(m.shape, options, kernel);
  INFO(describe(m) << ", " << cuda::to_string(kernel) << (backward ? " backward" : " forward")
                   << ", tiles " << tiles.block_rows << "x" << tiles.block_cols);
  const int64_t bh_count = m.shape.batch * m.shape.heads;
  const int64_t Tr = ceil_div(m.shape.seq_q, tiles.block_rows);
  const int64_t Tc = ceil_div(m.shape.seq_k, tiles.block_cols);

  const DType dtype = DType::F16;
  auto q = test::to_device(test::random_tensor(rng, q_dims(m.shape)), dtype);
  auto k = test::to_device(test::random_tensor(rng, kv_dims(m.shape)), dtype);
  auto v = test::to_device(test::random_tensor(rng, kv_dims(m.shape)), dtype);
  auto d_o = test::to_device(test::random_tensor(rng, q_dims(m.shape)), dtype);
  const size_t q_bytes = size_t(m.shape.q_elements()) * 2,
               kv_bytes = size_t(m.shape.kv_elements()) * 2;
  test::DeviceBuffer o(q_bytes), lse(size_t(m.shape.lse_elements()) * sizeof(float));
  test::DeviceBuffer dq(q_bytes), dk(kv_bytes), dv(kv_bytes);
  test::DeviceBuffer work(size_t(cuda::flash_backward_workspace_bytes(m.shape)));
  test::DeviceBuffer log(size_t(bh_count * Tr * Tc));
  test::cuda_ok(cudaMemset(log.ptr, 0, log.bytes), "cudaMemset tile log");

  // The forward records its tiles, or runs plainly to give the backward its O and logsumexp.
  cuda::ForwardArgs fa{q->ptr, k->ptr, v->ptr, o.ptr, lse.as<float>()};
  if (!backward) fa.tile_log = log.as<uint8_t>();
  cuda::flash_forward(m.shape, options, dtype, fa, nullptr, kernel);
  if (backward) {
    const cuda::BackwardArgs ba{q->ptr,          k->ptr, v->ptr, o.ptr,  d_o->ptr,
                                lse.as<float>(), dq.ptr, dk.ptr, dv.ptr, log.as<uint8_t>()};
    cuda::flash_backward(m.shape, options, dtype, ba, work.ptr, nullptr, kernel);
  }
  test::cuda_ok(cudaDeviceSynchronize(), "fused kernels");
  std::vector<uint8_t> logged(log.bytes);
  test::cuda_ok(cudaMemcpy(logged.data(), log.ptr, log.bytes, cudaMemcpyDeviceToHost),
                "cudaMemcpy tile log");

  const std::set<TileId> sim_skips = simulator_skips(m, options, tiles, backward);
  const MaskParams mask = make_params(options, m.shape).mask;
  int64_t kernel_skips = 0;
  for (int64_t bh = 0; bh < bh_count; ++bh)
    for (int64_t i = 0; i < Tr; ++i)
      for (int64_t j = 0; j < Tc; ++j) {
        const uint8_t got = logged[size_t((bh * Tr + i) * Tc + j)];
        const bool sim_skipped = sim_skips.count({bh, i, j}) != 0;
        const uint8_t want = sim_skipped ? 0 : expected_flag(mask, m, tiles, i, j, backward);
        kernel_skips += got == 0;
        seen.skipped += got == 0;
        seen.computed += got == cuda::kTileComputed;
        seen.masked += got == cuda::kTileMasked;
        if (got != want) {
          FAIL_CHECK("tile (bh " << bh << ", i " << i << ", j " << j << "): kernel recorded "
                                 << int(got) << ", expected " << int(want)
                                 << " (0 skipped, 1 computed, 2 computed with the element mask)");
          return;
        }
      }
  // Meaningful only when the mask skips some tiles and leaves others.
  CHECK(kernel_skips == int64_t(sim_skips.size()));
  CHECK(kernel_skips > 0);
  CHECK(kernel_skips < bh_count * Tr * Tc);
}

std::vector<MaskCase> mask_cases(int64_t d) {
  return {
      {{1, 2, 700, 450, d}, true, 48, 80, 0.6},     // causal + rectangular blocks, seq_q > seq_k
      {{2, 1, 333, 517, d}, true, 100, 30, 0.5},    // causal + tall thin blocks, seq_q < seq_k
      {{1, 1, 517, 517, d}, false, 160, 40, 0.25},  // block-sparse only: many tiles all off
      {{1, 1, 600, 600, d}, true, 0, 0, 0.0},       // causal only
      {{1, 1, 384, 384, d}, true, 64, 64, 0.9},     // blocks aligned with most tiles
  };
}

}  // namespace

TEST_CASE("fused kernels skip and mask exactly the tiles the simulator does (tile_visibility)") {
  FLASHLAB_TEST_RNG(rng, "tile skipping");
  Seen seen;
  // The head dims whose fp16 kernels are also built with the tile log (flash_forward refuses the
  // log elsewhere, as the next test checks): both kernels of each direction run there on Hopper.
  for (int64_t d : {64, 128}) {
    for (const MaskCase& m : mask_cases(d))
      for (bool backward : {false, true})
        for (cuda::FusedKernel kernel : test::fused_kernels_for(
                 {m.shape}, backward ? test::Direction::Backward : test::Direction::Forward))
          check_tiles(m, kernel, backward, rng, seen);
  }
  INFO("tiles skipped " << seen.skipped << ", computed " << seen.computed << ", masked "
                        << seen.masked);
  CHECK(seen.skipped > 0);
  CHECK(seen.computed > 0);
  CHECK(seen.masked > 0);
}

TEST_CASE("the tile log is refused where no debug kernel is built") {
  const AttentionShape shape{1, 1, 64, 64, 32};
  test::DeviceBuffer buf(size_t(64 * 64 * 2)), lse(64 * sizeof(float)), log(64);
  cuda::ForwardArgs args{buf.ptr, buf.ptr, buf.ptr, buf.ptr, lse.as<float>(), log.as<uint8_t>()};
  CHECK(test::error_of([&] {
          cuda::flash_forward(shape, {}, DType::F16, args);
        }).find("tile_log is recorded for fp16 without dropout at head_dim 64, 128") !=
        std::string::npos);
  CHECK(test::error_of([&] {
          cuda::flash_forward({1, 1, 64, 64, 64}, {}, DType::BF16, args);
        }).find("not for bf16") != std::string::npos);
  CHECK(test::error_of([&] {
          cuda::flash_forward_simple({1, 1, 8, 8, 8}, {}, args);
        }).find("tile_log is recorded only by flash_forward and flash_backward") !=
        std::string::npos);
}
