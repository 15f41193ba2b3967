// A seed as people type it (the --seed of every tool): a plain whole number in [0, 2^64). Command
// line parsers would otherwise wrap "-1" around to 2^64 - 1 or saturate 2^64. Host only.
#pragma once

#include <string_view>

namespace flashlab {

// Digits only, no sign, at most 2^64 - 1 = 18446744073709551615.
inline bool is_seed_text(std::string_view text) {
  constexpr std::string_view kMax = "18446744073709551615";
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) return false;
  while (text.size() > 1 && text.front() == '0') text.remove_prefix(1);
  return text.size() < kMax.size() || (text.size() == kMax.size() && text <= kMax);
}

}  // namespace flashlab
