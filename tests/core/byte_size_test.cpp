// The one byte-size parser of every tool (core/byte_size.hpp): units, fractions, limits and
// the messages of what it refuses.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include <flashlab/core/byte_size.hpp>
#include <flashlab/test/random.hpp>

using namespace flashlab;

namespace {

constexpr int64_t kKi = 1024, kK = 1000;

std::string refusal(const std::string& text) {
  try {
    const int64_t bytes = parse_byte_size(text);
    return "accepted as " + std::to_string(bytes);
  } catch (const Error& e) {
    return e.what();
  }
}

}  // namespace

TEST_CASE("byte sizes: every unit, any letter case, fractions that make whole bytes") {
  struct Case {
    const char* text;
    int64_t bytes;
  };
  const std::vector<Case> cases = {
      {"49152", 49152},
      {"49152B", 49152},
      {"48KiB", 48 * kKi},
      {"48kib", 48 * kKi},
      {"48 KiB", 48 * kKi},
      {"16.5KiB", 16 * kKi + kKi / 2},
      {".5KiB", kKi / 2},
      {"2.25MiB", 2 * kKi * kKi + kKi * kKi / 4},
      {"1GiB", kKi * kKi * kKi},
      {"1TiB", kKi * kKi * kKi * kKi},
      {"1024TiB", kKi * kKi * kKi * kKi * kKi},  // exactly the limit, 2^50
      {"100KB", 100 * kK},
      {"100kb", 100 * kK},
      {"1.5MB", 1500 * kK},
      {"3GB", 3 * kK * kK * kK},
      {"2TB", 2 * kK * kK * kK * kK},
      {"0.001KB", 1},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    CHECK(parse_byte_size(c.text) == c.bytes);
  }
}

TEST_CASE("byte sizes: random whole numbers of every unit read back exactly") {
  FLASHLAB_TEST_RNG(rng, "byte sizes round trip");
  struct Unit {
    const char* name;
    int64_t bytes;
  };
  const Unit units[] = {{"", 1},
                        {"B", 1},
                        {"KiB", kKi},
                        {"MiB", kKi * kKi},
                        {"KB", kK},
                        {"MB", kK * kK},
                        {"GiB", kKi * kKi * kKi}};
  for (int k = 0; k < 200; ++k) {
    const Unit& u = units[size_t(test::random_int(rng, 0, int64_t(std::size(units)) - 1))];
    const int64_t n = test::random_int(rng, 1, 4096);
    const std::string text = std::to_string(n) + u.name;
    INFO(text);
    CHECK(parse_byte_size(text) == n * u.bytes);
  }
}

TEST_CASE("byte sizes: refusals quote the text and say what is wrong") {
  struct Case {
    const char* text;
    const char* fragment;
  };
  const std::vector<Case> cases = {
      {"12XB", "'12XB' is not a byte size; accepted: a number with an optional unit B, KiB"},
      {"", "'' is not a byte size"},
      {"KiB", "'KiB' is not a byte size"},
      {"-5", "'-5' is not a byte size"},
      {"1e6", "'1e6' is not a byte size"},
      {"1PiB", "'1PiB' is not a byte size"},
      {"48K", "'48K' is ambiguous: write KiB"},
      {"1m", "'1m' is ambiguous"},
      {"1.5B", "'1.5B' is not a whole number of bytes"},
      {"0.1KiB", "'0.1KiB' is not a whole number of bytes"},
      {"0", "'0' is less than 1 byte"},
      {"0KiB", "'0KiB' is less than 1 byte"},
      {"1025TiB", "'1025TiB' is more than 1 PiB (2^50 bytes)"},
      {"1125899906842625", "is more than 1 PiB"},  // 2^50 + 1
      {"99999999999999999999", "has too many digits"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    CHECK(refusal(c.text).find(c.fragment) != std::string::npos);
  }
}
