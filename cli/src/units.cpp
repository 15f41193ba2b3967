// Parsing and printing of byte sizes, times and large counts for the CLI's tables.
#include <flashlab/cli/units.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <flashlab/core/byte_size.hpp>

namespace flashlab::cli {
namespace {

std::string printf_string(const char* format, double value, const char* unit) {
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), format, value, unit);
  return buffer.data();
}

}  // namespace

int64_t parse_byte_size(const std::string& text, const std::string& option) {
  try {
    return flashlab::parse_byte_size(text);
  } catch (const Error& e) {
    throw Error(option + ": " + e.what());
  }
}

std::string format_bytes(double bytes) {
  if (!std::isfinite(bytes)) return "-";
  if (std::fabs(bytes) < 1024.0) return printf_string("%.0f %s", bytes, "B");
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = bytes / 1024.0;
  size_t unit = 0;
  while (std::fabs(value) >= 1024.0 && unit + 1 < std::size(units)) {
    value /= 1024.0;
    ++unit;
  }
  return printf_string(std::fabs(value) < 100.0 ? "%.2f %s" : "%.1f %s", value, units[unit]);
}

std::string format_seconds(double seconds) {
  if (!std::isfinite(seconds)) return "-";
  const double a = std::fabs(seconds);
  if (a >= 1.0) return printf_string("%.3g %s", seconds, "s");
  if (a >= 1e-3) return printf_string("%.3g %s", seconds * 1e3, "ms");
  if (a >= 1e-6) return printf_string("%.3g %s", seconds * 1e6, "us");
  return printf_string("%.3g %s", seconds * 1e9, "ns");
}

std::string format_scientific(double value) {
  if (value == 0.0) return "0";
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return printf_string("%.2e%s", value, "");
}

std::string format_number(double value) {
  return printf_string("%g%s", value, "");
}

std::string format_fraction(double value) {
  return printf_string("%.2f%s", value, "");
}

std::string format_count(double count) {
  if (!std::isfinite(count)) return "-";
  const char* units[] = {"", " k", " M", " G", " T", " P"};
  double value = count;
  size_t unit = 0;
  while (std::fabs(value) >= 1000.0 && unit + 1 < std::size(units)) {
    value /= 1000.0;
    ++unit;
  }
  return printf_string(unit == 0 ? "%.0f%s" : "%.3g%s", value, units[unit]);
}

}  // namespace flashlab::cli
