// The causal tilings and wrong skip rules of causal_tiles.hpp.
#include <flashlab/labs/causal_tiles.hpp>

#include <algorithm>

namespace flashlab::labs {

const std::vector<SkipRule>& wrong_causal_skip_rules() {
  static const std::vector<SkipRule> rules = {
      {[](const TileRef& t) { return t.j() > t.i(); }, "skipping tile (i, j) whenever j > i",
       "that is the diagonal only when B_r = B_c; skip a tile when its first column c0 is past "
       "its last row r0 + rows - 1"},
      {[](const TileRef& t) { return t.c0 >= t.r0 + t.rows - 1; },
       "skipping a tile whose first column equals its last row (c0 >= r0 + rows - 1)",
       "score (r0 + rows - 1, c0) is on the diagonal and allowed (c <= r); skip only when "
       "c0 > r0 + rows - 1"},
      {[](const TileRef& t) { return t.c0 > t.r0; },
       "skipping a tile when its first column is past its FIRST row",
       "the rows below see further (row r sees c <= r), so compare c0 with the tile's last row "
       "r0 + rows - 1"},
      {[](const TileRef& t) { return t.c0 + t.cols - 1 > t.r0 + t.rows - 1; },
       "skipping every tile the diagonal crosses (its last column past its last row)",
       "such a tile still has allowed scores; compute it and mask the scores with c > r"},
  };
  return rules;
}

const std::vector<CausalTiling>& unfriendly_causal_tilings() {
  static const std::vector<CausalTiling> tilings = {
      {23, 23, 5, 4, "B_c < B_r; key block 1 starts at row 4, the last row of query tile 0"},
      {33, 20, 8, 3, "B_c < B_r and N_q > N_k"},
      {20, 33, 3, 8, "B_c > B_r and N_q < N_k"},
      {29, 37, 7, 4,
       "key block 5 starts at row 20, the last row of query tile 2; N divisible by "
       "neither block"},
      {37, 29, 5, 6, "B_c > B_r; key block 4 starts at row 24, the last row of query tile 4"},
      {13, 17, 1, 3, "query tiles of one row"},
      {17, 13, 3, 1, "key tiles of one column"},
  };
  return tilings;
}

std::string explain(const SkipRule& rule) {
  return std::string("what ") + rule.what + " gives: " + rule.why + ".";
}

std::string describe(const CausalTiling& t) {
  return "causal, N_q=" + std::to_string(t.nq) + ", N_k=" + std::to_string(t.nk) +
         ", B_r=" + std::to_string(t.Br) + ", B_c=" + std::to_string(t.Bc);
}

bool in_skipped_tile(bool (*skips)(const TileRef&), const CausalTiling& t, int64_t r, int64_t c) {
  TileRef tile;
  tile.Br = t.Br;
  tile.Bc = t.Bc;
  tile.r0 = r / t.Br * t.Br;
  tile.c0 = c / t.Bc * t.Bc;
  tile.rows = std::min(t.Br, t.nq - tile.r0);
  tile.cols = std::min(t.Bc, t.nk - tile.c0);
  return skips(tile);
}

}  // namespace flashlab::labs
