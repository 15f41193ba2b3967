// Sizes and times as people type and read them: "100KiB" in, "1.50 MiB" and "12.3 ms" out.
#pragma once

#include <cstdint>
#include <string>

namespace flashlab::cli {

// Parses a byte size with flashlab::parse_byte_size (core/byte_size.hpp, the parser every tool
// shares: "49152", "48KiB", "16.5KiB", "100KB", "1TiB"). Throws flashlab::Error naming `option`,
// e.g. "--sram: '12XB' is not a byte size; accepted: ...".
int64_t parse_byte_size(const std::string& text, const std::string& option);

// "512 B", "48.0 KiB", "1.50 MiB", "2.00 GiB" (binary units; exact bytes below 1 KiB).
std::string format_bytes(double bytes);

// "950 ns", "12.3 us", "4.56 ms", "1.23 s".
std::string format_seconds(double seconds);

// Scientific notation with two significant digits after the point: "1.23e-07"; "0" for 0.
std::string format_scientific(double value);

// A number as typed back in a message: "0.5", "1e+300", "inf", "nan" (%g).
std::string format_number(double value);

// "1.23 G", "456 M", "12.0 k" for counts such as FLOPs.
std::string format_count(double count);

// Two decimals, for fractions and ratios near 1: "0.63", "1.00", "0.12".
std::string format_fraction(double value);

}  // namespace flashlab::cli
