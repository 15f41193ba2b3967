// Block-mask patterns by name ("butterfly", "local:W", "random:DENSITY"), shared by the CLI,
// the visualizer and the labs.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include <flashlab/core/block_mask.hpp>

namespace flashlab {

namespace detail {
// Strict number parsing: the whole text must be a number, or the pattern is refused.
inline bool parse_number(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(out);
}
}  // namespace detail

// Parses "butterfly", "local:W" (W in blocks), "random:DENSITY" (seeded by `seed`).
inline BlockMask named_block_mask(const std::string& pattern, int64_t seq_q, int64_t seq_k,
                                  int64_t block, uint64_t seed) {
  const auto colon = pattern.find(':');
  const std::string name = pattern.substr(0, colon);
  const std::string arg = colon == std::string::npos ? "" : pattern.substr(colon + 1);
  const std::string accepted =
      "accepted: butterfly, local:W (W = window in blocks), "
      "random:DENSITY (0 < DENSITY <= 1)";
  double value = 0;
  if (name == "butterfly" && colon == std::string::npos) {
    return butterfly_mask(seq_q, seq_k, block);
  }
  if (name == "local") {
    require(detail::parse_number(arg, value) && value >= 0 && value == std::floor(value),
            "'" + pattern + "': local:W takes a window W of whole blocks >= 0, got '" + arg + "'");
    // A window wider than the grid allows every block: cap it where int64 holds it.
    return local_mask(seq_q, seq_k, block, int64_t(std::min(value, 0x1p40)));
  }
  if (name == "random") {
    require(detail::parse_number(arg, value) && value > 0 && value <= 1,
            "'" + pattern + "': random:DENSITY takes a density in (0, 1], got '" + arg + "'");
    return random_mask(seq_q, seq_k, block, value, seed);
  }
  throw Error("unknown block-sparse pattern '" + pattern + "'; " + accepted);
}

}  // namespace flashlab
