// Byte sizes as people type them ("49152", "48KiB", "16.5 KiB", "100KB", "1TiB"): the one parser
// of the SRAM size M (FA1 §2.1, FA1 Alg. 1 l. 1) used by every tool, so that `flashlab` and
// `flashlab-viz` accept exactly the same texts. Host only.
#pragma once

#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include <flashlab/core/error.hpp>

namespace flashlab {

// The largest size accepted: 1 PiB. Far above any SRAM, and far enough below 2^63 that byte and
// element counts derived from it cannot overflow.
inline constexpr int64_t kMaxByteSize = int64_t{1} << 50;

// What parse_byte_size accepts, for messages and help texts.
inline constexpr const char* kByteSizeSyntax =
    "a number with an optional unit B, KiB, MiB, GiB, TiB (x1024) or KB, MB, GB, TB (x1000), any "
    "letter case, e.g. 49152, 48KiB, 16.5KiB, 100KB";

namespace detail {

// Bytes per unit, or 0 for an unknown unit. Letter case is ignored ("kib" = "KiB").
inline int64_t byte_unit(const std::string& unit) {
  struct Unit {
    const char* name;
    int64_t bytes;
  };
  constexpr Unit kUnits[] = {{"", 1},
                             {"b", 1},
                             {"kib", int64_t{1} << 10},
                             {"mib", int64_t{1} << 20},
                             {"gib", int64_t{1} << 30},
                             {"tib", int64_t{1} << 40},
                             {"kb", 1000},
                             {"mb", 1000 * 1000},
                             {"gb", 1000 * 1000 * 1000},
                             {"tb", int64_t{1000} * 1000 * 1000 * 1000}};
  for (const Unit& k : kUnits)
    if (unit == k.name) return k.bytes;
  return 0;
}

}  // namespace detail

// Parses a byte size: digits, optionally a fraction ("16.5"), optional spaces, an optional unit
// (see kByteSizeSyntax). The result must be a whole number of bytes in [1, kMaxByteSize]:
// "16.5KiB" = 16896 is accepted, "1.5B" and "0.1KiB" are not. A bare K, M, G or T is refused as
// ambiguous (tools disagree on it). Throws flashlab::Error with a message that quotes `text` and
// reads well after the option or field name: "--sram: '12XB' is not a byte size; accepted: ...".
inline int64_t parse_byte_size(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  size_t pos = 0;
  auto digits = [&](int64_t& value, int64_t& scale) {
    const size_t start = pos;
    for (; pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])); ++pos) {
      // 18 digits cannot overflow int64 (and 10^17 bytes is far above kMaxByteSize).
      require(pos - start < 18, quoted + " has too many digits for a byte size");
      value = value * 10 + (text[pos] - '0');
      scale *= 10;
    }
    return pos - start;
  };
  int64_t whole = 0, fraction = 0, whole_scale = 1, fraction_scale = 1;
  const size_t whole_digits = digits(whole, whole_scale);
  size_t fraction_digits = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    fraction_digits = digits(fraction, fraction_scale);
  }
  while (pos < text.size() && text[pos] == ' ') ++pos;
  std::string unit_text;
  for (const char c : text.substr(pos))
    unit_text += char(std::tolower(static_cast<unsigned char>(c)));
  require(unit_text.size() != 1 || std::string_view("kmgt").find(unit_text[0]) == std::string::npos,
          quoted + " is ambiguous: write KiB, MiB, GiB, TiB (x1024) or KB, MB, GB, TB (x1000)");
  const int64_t unit = detail::byte_unit(unit_text);
  require(whole_digits + fraction_digits > 0 && unit > 0,
          quoted + " is not a byte size; accepted: " + kByteSizeSyntax);
  // whole * unit + fraction * unit / fraction_scale, exactly: each factor is below 2^60, so the
  // products fit 128 bits.
  __extension__ typedef __int128 Wide;
  const Wide bytes = Wide(whole) * unit + Wide(fraction) * unit / fraction_scale;
  require(Wide(fraction) * unit % fraction_scale == 0, quoted + " is not a whole number of bytes");
  require(bytes <= kMaxByteSize, quoted + " is more than 1 PiB (2^50 bytes)");
  require(bytes >= 1, quoted + " is less than 1 byte");
  return int64_t(bytes);
}

}  // namespace flashlab
