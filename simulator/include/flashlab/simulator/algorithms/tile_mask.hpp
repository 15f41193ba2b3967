// Which tiles of S the mask leaves visible, decided per tile from the block-mask blocks it
// overlaps and the causal rule (top-left: col <= row), never by scanning elements. A tile with
// no allowed element is skipped (FA1 Alg. 5 l. 8, and the causal block skipping of FA2 §3.1).
#pragma once

#include <algorithm>

#include <flashlab/core/options.hpp>
#include <flashlab/simulator/trace/trace.hpp>

namespace flashlab::simulator {

enum class TileCoverage {
  None,     // no element allowed: skip the block
  Partial,  // some elements masked: compute, then apply the mask
  Full      // every element allowed: compute, no mask needed
};

inline TileCoverage tile_coverage(const MaskParams& mask, const TileRect& s) {
  const int64_t r_last = s.row0 + s.rows - 1, c_last = s.col0 + s.cols - 1;
  if (s.rows <= 0 || s.cols <= 0) return TileCoverage::None;
  // Causal alone: the last row sees columns <= r_last; the first row sees all iff c_last <= row0.
  if (mask.causal && s.col0 > r_last) return TileCoverage::None;
  bool causal_full = !mask.causal || c_last <= s.row0;
  const BlockMaskView& b = mask.block;
  if (b.layout == nullptr) return causal_full ? TileCoverage::Full : TileCoverage::Partial;
  bool any = false, all = true;
  for (int64_t bi = s.row0 / b.block_rows; bi <= r_last / b.block_rows; ++bi) {
    for (int64_t bj = s.col0 / b.block_cols; bj <= c_last / b.block_cols; ++bj) {
      if (!b.block_on(bi, bj)) {
        all = false;
        continue;
      }
      // The part of this mask block inside the tile has an allowed element iff its first
      // column is <= its last row (causal), or always (not causal).
      const int64_t rb = std::min(r_last, (bi + 1) * b.block_rows - 1);
      const int64_t ca = std::max(s.col0, bj * b.block_cols);
      if (!mask.causal || ca <= rb) any = true;
    }
  }
  if (!any) return TileCoverage::None;
  return all && causal_full ? TileCoverage::Full : TileCoverage::Partial;
}

}  // namespace flashlab::simulator
