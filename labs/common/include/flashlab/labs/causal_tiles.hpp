// Causal tile skipping as the graders of labs 2, 4 and 6 test it: tilings that friendly tests
// (square tiles dividing N) never exercise, and the wrong skip rules that students write, so a
// grader can say which rule a wrong result matches (FA2 §3.1: skip the tiles above the diagonal).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flashlab::labs {

// Tile (i, j) of S: query rows r0 .. r0 + rows - 1, key columns c0 .. c0 + cols - 1, cut with
// blocks of Br x Bc (rows and cols are shorter for the last blocks).
struct TileRef {
  int64_t r0 = 0, rows = 0, c0 = 0, cols = 0, Br = 1, Bc = 1;
  int64_t i() const { return r0 / Br; }
  int64_t j() const { return c0 / Bc; }
};

// The right rule (top-left causal, c <= r): every score of the tile is masked iff its first
// column is past its last row.
inline bool causal_tile_hidden(const TileRef& t) {
  return t.c0 > t.r0 + t.rows - 1;
}

// A wrong rule: which tiles it skips, what it is ("skipping tile (i, j) whenever j > i") and why
// it is wrong. A grader says: "your result is what <what> gives: <why>".
struct SkipRule {
  bool (*skips)(const TileRef&);
  const char* what;
  const char* why;
};
// "what <what> gives: <why>."
std::string explain(const SkipRule& rule);
// Rules that skip some tile holding an allowed score (each loses scores on some tiling of
// unfriendly_causal_tilings()).
const std::vector<SkipRule>& wrong_causal_skip_rules();

struct CausalTiling {
  int64_t nq, nk, Br, Bc;
  const char* what;  // what makes it unfriendly
};
// Tilings with B_r < B_c and B_r > B_c, a key block that starts exactly at a query tile's last
// row, N_q and N_k multiples of neither block, N_q != N_k both ways, and blocks of one row.
const std::vector<CausalTiling>& unfriendly_causal_tilings();
std::string describe(const CausalTiling& t);

// Is score (r, c) in a tile that `skips` drops, with this tiling?
bool in_skipped_tile(bool (*skips)(const TileRef&), const CausalTiling& t, int64_t r, int64_t c);

}  // namespace flashlab::labs
