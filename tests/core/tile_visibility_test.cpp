// The tile-visibility rule (core/tile_visibility.hpp) against a score-by-score scan of the mask, on
// every tile of small grids: causal on and off, block-sparse layouts with square and rectangular
// blocks that tiles straddle, seq_q != seq_k, sizes that are multiples of nothing.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <string>
#include <utility>
#include <vector>

#include <flashlab/core/tile_visibility.hpp>
#include <flashlab/test/random.hpp>

using namespace flashlab;

namespace {

// std::string, not const char*: doctest prints a char pointer as an address.
std::string name(TileVisibility v) {
  return v == TileVisibility::None ? "None" : v == TileVisibility::Full ? "Full" : "Partial";
}

// The truth: None iff no score of the tile is visible, Full iff every score is.
TileVisibility scan(const MaskParams& mask, int64_t row0, int64_t rows, int64_t col0,
                    int64_t cols) {
  bool any = false, all = true;
  for (int64_t r = row0; r < row0 + rows; ++r)
    for (int64_t c = col0; c < col0 + cols; ++c) {
      const bool visible = mask.allows(r, c);
      any = any || visible;
      all = all && visible;
    }
  return !any ? TileVisibility::None : all ? TileVisibility::Full : TileVisibility::Partial;
}

// What the rule answers for a tile, asked every way callers ask it: tile_visibility in 64-bit
// (the simulator) and 32-bit indices (the kernels), and its halves tile_any_visible (None or not,
// before loading) and tile_all_visible (Full or not, before masking). Empty when they all agree
// with `want`, else what disagreed.
std::string disagreement(const MaskParams& mask, int64_t row0, int64_t rows, int64_t col0,
                         int64_t cols, TileVisibility want) {
  std::string out;
  const TileVisibility got = tile_visibility(mask, row0, rows, col0, cols);
  if (got != want) out += " tile_visibility says " + name(got) + ";";
  const TileVisibility got32 = tile_visibility(mask, int(row0), int(rows), int(col0), int(cols));
  if (got32 != want) out += " tile_visibility<int> says " + name(got32) + ";";
  if (tile_any_visible(mask, int(row0), int(rows), int(col0), int(cols)) !=
      (want != TileVisibility::None))
    out += " tile_any_visible<int> disagrees;";
  if (tile_any_visible<true>(mask, int(row0), int(rows), int(col0), int(cols)) !=
      (want != TileVisibility::None))
    out += " tile_any_visible<inline scan, int> disagrees;";
  if (tile_all_visible(mask, int(row0), int(rows), int(col0), int(cols)) !=
      (want == TileVisibility::Full))
    out += " tile_all_visible<int> disagrees;";
  return out;
}

// A seq_q x seq_k problem with an optional layout of block_rows x block_cols blocks.
struct Problem {
  int64_t seq_q, seq_k;
  BlockMask layout;  // row_blocks == 0: no block mask
};

MaskParams mask_of(const Problem& p, bool causal) {
  MaskParams m;
  m.causal = causal;
  if (p.layout.row_blocks > 0) m.block = p.layout.view();
  return m;
}

BlockMask random_layout(std::mt19937_64& rng, int64_t seq_q, int64_t seq_k, int64_t block_rows,
                        int64_t block_cols, double density) {
  BlockMask b;
  b.block_rows = block_rows;
  b.block_cols = block_cols;
  b.row_blocks = ceil_div(seq_q, block_rows);
  b.col_blocks = ceil_div(seq_k, block_cols);
  std::bernoulli_distribution on(density);
  for (int64_t k = 0; k < b.row_blocks * b.col_blocks; ++k) b.layout.push_back(on(rng) ? 1 : 0);
  validate(b, seq_q, seq_k);
  return b;
}

// How often the rule answered each way: a test that never sees None or Full proves little.
using Tally = std::array<int64_t, 3>;

// Every tile of the seq_q x seq_k matrix cut into Br x Bc tiles (the last row and column of tiles
// short), classified by the rule and by the scan.
void check_grid(const Problem& p, bool causal, int64_t Br, int64_t Bc, Tally& tally) {
  const MaskParams mask = mask_of(p, causal);
  for (int64_t row0 = 0; row0 < p.seq_q; row0 += Br)
    for (int64_t col0 = 0; col0 < p.seq_k; col0 += Bc) {
      const int64_t rows = std::min(Br, p.seq_q - row0), cols = std::min(Bc, p.seq_k - col0);
      const TileVisibility want = scan(mask, row0, rows, col0, cols);
      const std::string wrong = disagreement(mask, row0, rows, col0, cols, want);
      ++tally[size_t(want)];
      if (!wrong.empty())
        FAIL_CHECK("seq_q " << p.seq_q << ", seq_k " << p.seq_k
                            << std::string(causal ? ", causal" : "") << ", mask blocks "
                            << p.layout.block_rows << "x" << p.layout.block_cols << " ("
                            << p.layout.row_blocks << " block rows; 0 = none), tile rows " << row0
                            << ".." << row0 + rows - 1 << " cols " << col0 << ".."
                            << col0 + cols - 1 << ": scan says " << name(want) << ";" << wrong);
    }
}

}  // namespace

TEST_CASE("tile visibility equals a score-by-score scan on every tile of small grids") {
  FLASHLAB_TEST_RNG(rng, "tile visibility grids");
  const std::pair<int64_t, int64_t> sizes[] = {{1, 1}, {13, 13}, {7, 19}, {19, 7}, {24, 16}};
  const std::pair<int64_t, int64_t> mask_blocks[] = {{1, 1}, {4, 4}, {3, 5},
                                                     {5, 3}, {8, 2}, {2, 7}};
  const std::pair<int64_t, int64_t> tiles[] = {{1, 1}, {4, 4}, {3, 5}, {5, 2}, {6, 8}, {16, 3}};
  Tally dense{}, sparse{};
  for (const auto& [seq_q, seq_k] : sizes) {
    std::vector<Problem> problems = {{seq_q, seq_k, {}}};
    for (const auto& [br, bc] : mask_blocks)
      for (double density : {0.0, 0.3, 0.7, 1.0})
        problems.push_back({seq_q, seq_k, random_layout(rng, seq_q, seq_k, br, bc, density)});
    for (const Problem& p : problems)
      for (bool causal : {false, true})
        for (const auto& [Br, Bc] : tiles)
          check_grid(p, causal, Br, Bc, p.layout.row_blocks > 0 ? sparse : dense);
  }
  INFO("None/Partial/Full: dense " << dense[0] << "/" << dense[1] << "/" << dense[2] << ", sparse "
                                   << sparse[0] << "/" << sparse[1] << "/" << sparse[2]);
  for (int64_t count : dense) CHECK(count > 0);
  for (int64_t count : sparse) CHECK(count > 0);
}

TEST_CASE("tile visibility equals the scan on every rectangle, not only on grid tiles") {
  FLASHLAB_TEST_RNG(rng, "tile visibility rectangles");
  for (const auto& [br, bc] : {std::pair<int64_t, int64_t>{3, 5}, {4, 2}}) {
    const Problem p{11, 9, random_layout(rng, 11, 9, br, bc, 0.5)};
    for (bool causal : {false, true}) {
      const MaskParams mask = mask_of(p, causal);
      for (int64_t row0 = 0; row0 < p.seq_q; ++row0)
        for (int64_t rows = 1; row0 + rows <= p.seq_q; ++rows)
          for (int64_t col0 = 0; col0 < p.seq_k; ++col0)
            for (int64_t cols = 1; col0 + cols <= p.seq_k; ++cols) {
              const TileVisibility want = scan(mask, row0, rows, col0, cols);
              const std::string wrong = disagreement(mask, row0, rows, col0, cols, want);
              if (!wrong.empty())
                FAIL_CHECK(std::string(causal ? "causal, " : "")
                           << "mask blocks " << br << "x" << bc << ", rows " << row0 << "+" << rows
                           << ", cols " << col0 << "+" << cols << ": scan says " << name(want)
                           << ";" << wrong);
            }
    }
  }
}

TEST_CASE(
    "a causal tile over an on block that reaches the diagonal only outside the tile is None") {
  // Mask blocks of 16 rows x 64 columns: block row 0 on, block row 1 off. The tile rows 0..31 x
  // cols 16..31 crosses the diagonal, but its visible scores (c <= r) lie in rows 16..31, whose
  // block is off; the on block's part inside the tile (rows 0..15, cols 16..31) is above the
  // diagonal. Without clipping the block to the tile, the block's own corner (0, 0) would make
  // the tile look visible.
  BlockMask b;
  b.block_rows = 16;
  b.block_cols = 64;
  b.row_blocks = 2;
  b.col_blocks = 1;
  b.layout = {1, 0};
  const MaskParams mask{true, b.view()};
  CHECK(scan(mask, 0, 32, 16, 16) == TileVisibility::None);
  CHECK(tile_visibility(mask, 0, 32, 16, 16) == TileVisibility::None);
  CHECK(tile_visibility(mask, 0, 32, 0, 16) == TileVisibility::Partial);
}

TEST_CASE("empty tiles are None; without a mask every tile is Full") {
  const MaskParams none{};
  CHECK(tile_visibility(none, 0, 0, 0, 8) == TileVisibility::None);
  CHECK(tile_visibility(none, 0, 8, 0, 0) == TileVisibility::None);
  CHECK(tile_visibility(none, 5, 3, 100, 7) == TileVisibility::Full);
}
