// Dropout on the attention probabilities P (FA1 Alg. 2 / FA1 Alg. 4 l. 14), decided per element
// by Philox so that every implementation drops exactly the same elements without storing a mask.
// Each element takes 16 random bits, so one Philox call (four 32-bit words) decides eight
// elements: the GPU kernels' cost is their Philox calls, and 16 bits keep the realised drop rate
// within 2^-17 of the one asked for. A call is Philox-4x32-7, seven rounds instead of Random123's
// default ten: Philox-4x32 passes TestU01's BigCrush from seven rounds on (Salmon et al., SC'11;
// ten is their safety margin), FlashAttention-2's kernels draw their masks with seven, and each
// round is two of the 32 x 32-bit products that bound the kernels' draw rate (docs/theory.md,
// "Dropout").
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include <flashlab/core/error.hpp>
#include <flashlab/core/host_device.hpp>
#include <flashlab/core/philox.hpp>

namespace flashlab {

// Random numbers of 16 bits: an element's is one half of a Philox word.
inline constexpr double kDropoutLevels = 65536.0;
// The rounds of each Philox call that decides dropout.
inline constexpr int kDropoutPhiloxRounds = 7;
using DropoutKeys = PhiloxKeys<kDropoutPhiloxRounds>;

// What a kernel needs to drop elements: derived once on the host from (p, seed).
struct DropoutParams {
  DropoutKeys keys{};       // the Philox round keys of the seed (key = its low and high words)
  uint32_t drop_below = 0;  // an element is dropped iff its 16-bit random number < drop_below
  double keep_scale = 1.0;  // 2^16 / (2^16 - drop_below): 1 / the realised keep rate, so that
                            // E[output] is unchanged
  bool enabled = false;
};

namespace detail {
// p with the digits that tell it from its neighbours (std::to_string shows 0.9999999 as 1.000000).
inline std::string probability_text(double p) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", p);
  return text;
}
}  // namespace detail

// p is rounded to the nearest multiple of 2^-16, the realised drop rate drop_below / 2^16; a p
// that rounds to 0 or to 1 is refused rather than silently not dropping (or dropping everything).
inline DropoutParams make_dropout(double p, uint64_t seed) {
  require(std::isfinite(p) && p >= 0.0 && p < 1.0,
          "dropout probability must be in [0, 1), got " + detail::probability_text(p));
  DropoutParams d;
  d.keys = philox_round_keys<kDropoutPhiloxRounds>(static_cast<uint32_t>(seed),
                                                   static_cast<uint32_t>(seed >> 32));
  d.enabled = p > 0.0;
  if (!d.enabled) return d;
  const double levels = std::round(p * kDropoutLevels);
  require(levels >= 1.0, "dropout probability " + detail::probability_text(p) +
                             " rounds to 0 at the mask's resolution 2^-16 (1.5e-05): each "
                             "element is decided by 16 random bits, so it would drop nothing");
  require(levels < kDropoutLevels, "dropout probability " + detail::probability_text(p) +
                                       " rounds to 1 at the mask's resolution 2^-16: it would "
                                       "drop every element");
  d.drop_below = static_cast<uint32_t>(levels);
  d.keep_scale = kDropoutLevels / (kDropoutLevels - levels);
  return d;
}

// The four random words that decide columns [8 (col / 8), 8 (col / 8) + 7] of row `row` of head
// (b, h): word w's low half decides column 8 (col / 8) + 2 w, its high half the next one.
// Counter = (col / 8, row, head, batch), key = seed: unique per element group, stateless.
FLASHLAB_HD Philox4x32 dropout_random_words(const DropoutParams& d, int64_t b, int64_t h,
                                            int64_t row, int64_t col) {
  const Philox4x32 counter = {{static_cast<uint32_t>(col >> 3), static_cast<uint32_t>(row),
                               static_cast<uint32_t>(h), static_cast<uint32_t>(b)}};
  return philox4x32<kDropoutPhiloxRounds>(counter, d.keys);
}

// Column col's 16-bit random number among its group's words.
FLASHLAB_HD uint32_t dropout_random_half(const Philox4x32& words, int64_t col) {
  return (words.x[(col >> 1) & 3] >> (16 * (col & 1))) & 0xFFFFu;
}

// True when element (b, h, row, col) of P survives dropout.
FLASHLAB_HD bool dropout_keep(const DropoutParams& d, int64_t b, int64_t h, int64_t row,
                              int64_t col) {
  if (!d.enabled) return true;
  return dropout_random_half(dropout_random_words(d, b, h, row, col), col) >= d.drop_below;
}

}  // namespace flashlab
