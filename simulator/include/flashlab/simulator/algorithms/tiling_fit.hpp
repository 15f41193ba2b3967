// Does a tiling fit the SRAM? The on-chip footprint of each algorithm (every tile it holds at
// once, as the algorithm files allocate them), the default block sizes (the paper's rule of
// FA1 Alg. 1 l. 1, shrunk until its tiles fit), and the refusal message that says what would fit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <flashlab/core/shape.hpp>
#include <flashlab/core/tiling.hpp>
#include <flashlab/simulator/algorithm.hpp>
#include <flashlab/simulator/machine/sram.hpp>

namespace flashlab::simulator {

struct FootprintItem {
  std::string tiles;  // "K_j, V_j"
  int64_t elements = 0;
};

// The most SRAM one pass of an algorithm holds at once. Tiles are clamped to the problem
// (a Bc larger than seq_k allocates seq_k rows), so small problems accept large block sizes.
struct SramFootprint {
  std::string pass;  // which pass needs the most, e.g. "FlashAttention backward (FA1 Alg. 4)"
  std::vector<FootprintItem> items;
  int64_t elements = 0;
  int64_t bytes = 0;
};

struct FitQuery {
  Algorithm algorithm = Algorithm::Flash;
  // Flash, standard: the backward and the forward it needs (FA1 Alg. 4 l. 2: same tiles);
  // Flash2: the backward pass alone (its forward has tiles of its own).
  bool backward = false;
  AttentionShape shape;
  int64_t sram_bytes = kDefaultSramBytes;
  int element_bytes = 2;
  bool dropout = false;  // the flash backward holds P^dropped beside P
};

SramFootprint sram_footprint(const FitQuery& q, const TileSizes& tiles);

// Each algorithm's own default tiles. Flash and standard: the paper's rule, Bc = ceil(M'/4d),
// Br = min(Bc, d), at the largest M' <= M (M = SRAM size in elements) whose tiles fit: the
// constant 4 of FA1 Alg. 1 l. 1 is asymptotic, and with every tile of the algorithm resident the
// rule at M' = M can overshoot M by up to ~25% (d >= Bc) and more for the backward. Flash2:
// FA2's tiles, 128 x {64, 128} forward and 64 x {64, 128} backward by head dim (`backward`
// picks which), halved until they fit. Throws flashlab::Error if even Br = Bc = 1 does not fit.
TileSizes default_tiles(const FitQuery& q);

// Throws flashlab::Error unless `tiles` fit: the message gives the bytes each group of tiles
// needs, the capacity, the largest Bc for this Br and Br for this Bc that fit, the default
// tiling, and the minimum SRAM (Br = Bc = 1).
void require_tiles_fit(const FitQuery& q, const TileSizes& tiles);

}  // namespace flashlab::simulator
