// Dropout on the attention probabilities P (FA1 Alg. 2 / FA1 Alg. 4 l. 14), decided per element
// by Philox so that every implementation drops exactly the same elements without storing a mask.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include <flashlab/core/error.hpp>
#include <flashlab/core/host_device.hpp>
#include <flashlab/core/philox.hpp>

namespace flashlab {

// What a kernel needs to drop elements: derived once on the host from (p, seed).
struct DropoutParams {
  uint64_t seed = 0;
  uint32_t drop_below = 0;  // an element is dropped iff its 32-bit random word < drop_below
  double keep_scale = 1.0;  // 1 / (1 - p): kept elements are scaled so E[output] is unchanged
  bool enabled = false;
};

inline DropoutParams make_dropout(double p, uint64_t seed) {
  require(std::isfinite(p) && p >= 0.0 && p < 1.0,
          "dropout probability must be in [0, 1), got " + std::to_string(p));
  DropoutParams d;
  d.seed = seed;
  d.enabled = p > 0.0;
  // Round to the nearest representable threshold; the realised drop rate is drop_below / 2^32.
  d.drop_below = static_cast<uint32_t>(
      std::llround(p * 4294967296.0 > 4294967295.0 ? 4294967295.0 : p * 4294967296.0));
  d.keep_scale = 1.0 / (1.0 - p);
  return d;
}

// The four random words that decide columns [4*(col/4), 4*(col/4)+3] of row `row` of head
// (b, h). Counter = (col/4, row, head, batch), key = seed: unique per element group, stateless.
FLASHLAB_HD Philox4x32 dropout_random_words(uint64_t seed, int64_t b, int64_t h, int64_t row,
                                            int64_t col) {
  const Philox4x32 counter = {{static_cast<uint32_t>(col >> 2), static_cast<uint32_t>(row),
                               static_cast<uint32_t>(h), static_cast<uint32_t>(b)}};
  return philox4x32_10(counter, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// True when element (b, h, row, col) of P survives dropout.
FLASHLAB_HD bool dropout_keep(const DropoutParams& d, int64_t b, int64_t h, int64_t row,
                              int64_t col) {
  if (!d.enabled) return true;
  const Philox4x32 words = dropout_random_words(d.seed, b, h, row, col);
  return words.x[col & 3] >= d.drop_below;
}

}  // namespace flashlab
