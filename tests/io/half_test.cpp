// float16 and bfloat16 conversions checked against IEEE 754 itself: known bit patterns, the
// binary16/bfloat16 value formula for every pattern, and every rounding midpoint.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include <flashlab/io/half.hpp>

using namespace flashlab::io;

namespace {

// The value of a bit pattern by the format's definition: (-1)^s * 2^(e-bias) * 1.m, or
// (-1)^s * 2^(1-bias) * 0.m for e == 0. Not defined for the all-ones exponent.
double formula_value(uint16_t bits, int exp_bits, int man_bits) {
  const int bias = (1 << (exp_bits - 1)) - 1;
  const int e = (bits >> man_bits) & ((1 << exp_bits) - 1);
  const double fraction = double(bits & ((1 << man_bits) - 1)) / double(1 << man_bits);
  const double magnitude =
      e == 0 ? std::pow(2.0, 1 - bias) * fraction : std::pow(2.0, e - bias) * (1.0 + fraction);
  return (bits & 0x8000) ? -magnitude : magnitude;
}

bool is_nan16(uint16_t bits, int man_bits) {
  return ((bits & 0x7FFF) >> man_bits) == (0x7FFF >> man_bits) &&
         (bits & ((1 << man_bits) - 1)) != 0;
}

uint32_t float_bits(float x) {
  return std::bit_cast<uint32_t>(x);
}
uint64_t double_bits(double x) {
  return std::bit_cast<uint64_t>(x);
}

}  // namespace

TEST_CASE("float16 and bfloat16 encode known values to their IEEE bit patterns") {
  struct Known {
    double value;
    uint16_t float16;
    uint16_t bfloat16;
  };
  const double inf = std::numeric_limits<double>::infinity();
  const Known known[] = {
      {1.0, 0x3C00, 0x3F80},
      {-2.0, 0xC000, 0xC000},
      {0.0, 0x0000, 0x0000},
      {-0.0, 0x8000, 0x8000},
      {inf, 0x7C00, 0x7F80},
      {-inf, 0xFC00, 0xFF80},
      {65504.0, 0x7BFF, 0x4780},                     // largest float16; bfloat16 rounds up
      {65520.0, 0x7C00, 0x4780},                     // float16 tie 65504|65536: even is inf
      {std::ldexp(1.0, -14), 0x0400, 0x3880},        // smallest normal float16
      {std::ldexp(1.0, -24), 0x0001, 0x3380},        // smallest subnormal float16
      {std::ldexp(1023.0, -24), 0x03FF, 0x3880},     // largest subnormal float16
      {std::ldexp(1.0, -25), 0x0000, 0x3300},        // float16 tie 0|2^-24: even is 0
      {std::ldexp(3.0, -25), 0x0002, 0x33C0},        // float16 tie 1|2 ulp: even is 2
      {1.0 + std::ldexp(1.0, -11), 0x3C00, 0x3F80},  // float16 tie 1.0|1.0+ulp: even is 1.0
      {1.0 + std::ldexp(3.0, -11), 0x3C02, 0x3F80},  // float16 tie: even is the upper
      {1.0 + std::ldexp(1.0, -8), 0x3C04, 0x3F80},   // bfloat16 tie 1.0|1.0+ulp: even is 1.0
      {1.0 + std::ldexp(3.0, -8), 0x3C0C, 0x3F82},   // bfloat16 tie: even is the upper
      {std::ldexp(1.0, -133), 0x0000, 0x0001},       // smallest subnormal bfloat16
      {3.0e38, 0x7C00, 0x7F62},                      // float16 overflows to inf
      {double(std::numeric_limits<float>::max()), 0x7C00, 0x7F80},  // bfloat16 rounds up to inf
      {std::numeric_limits<double>::denorm_min(), 0x0000, 0x0000},
      {-std::numeric_limits<double>::denorm_min(), 0x8000, 0x8000},
      {1.0e300, 0x7C00, 0x7F80},
  };
  for (const Known& k : known) {
    INFO("value " << k.value);
    CHECK(to_float16_bits(k.value) == k.float16);
    CHECK(to_bfloat16_bits(k.value) == k.bfloat16);
    // Each value above is a float, except those beyond float's range or precision.
    const auto f = float(k.value);
    if (double(f) == k.value) {
      CHECK(to_float16_bits(f) == k.float16);
      CHECK(to_bfloat16_bits(f) == k.bfloat16);
    }
  }
  CHECK(to_float16_bits(std::numeric_limits<float>::quiet_NaN()) == 0x7E00);
  CHECK(to_bfloat16_bits(std::numeric_limits<float>::quiet_NaN()) == 0x7FC0);
  CHECK(float16_bits_to_float(0x7BFF) == 65504.0f);
  CHECK(float16_bits_to_float(0x0001) == std::ldexp(1.0f, -24));
  CHECK(bfloat16_bits_to_float(0x3F80) == 1.0f);
}

TEST_CASE("float16 and bfloat16 decode every bit pattern to the value the IEEE formula gives") {
  for (uint32_t b = 0; b <= 0xFFFF; ++b) {
    const auto bits = uint16_t(b);
    INFO("bit pattern " << b);
    const float half = float16_bits_to_float(bits);
    const float brain = bfloat16_bits_to_float(bits);
    if (((bits >> 10) & 0x1F) == 0x1F) {  // float16 inf or NaN: the fraction moves up 13 bits
      CHECK(float_bits(half) ==
            ((uint32_t(bits & 0x8000) << 16) | 0x7F800000u | (uint32_t(bits & 0x3FF) << 13)));
    } else {
      CHECK(double(half) == formula_value(bits, 5, 10));
      CHECK(std::signbit(half) == bool(bits & 0x8000));
    }
    if (((bits >> 7) & 0xFF) == 0xFF) {  // bfloat16 inf or NaN: the top half of a float
      CHECK(float_bits(brain) == uint32_t(bits) << 16);
    } else {
      CHECK(double(brain) == formula_value(bits, 8, 7));
      CHECK(std::signbit(brain) == bool(bits & 0x8000));
    }
    // Widening to double agrees, NaN payload included (52 - 10 and 52 - 7 bits up).
    if (is_nan16(bits, 10))
      CHECK(double_bits(float16_bits_to_double(bits)) ==
            ((uint64_t(bits & 0x8000) << 48) | (uint64_t{0x7FF} << 52) |
             (uint64_t(bits & 0x3FF) << 42)));
    else
      CHECK(double_bits(float16_bits_to_double(bits)) == double_bits(double(half)));
    if (is_nan16(bits, 7))
      CHECK(double_bits(bfloat16_bits_to_double(bits)) ==
            ((uint64_t(bits & 0x8000) << 48) | (uint64_t{0x7FF} << 52) |
             (uint64_t(bits & 0x7F) << 45)));
    else
      CHECK(double_bits(bfloat16_bits_to_double(bits)) == double_bits(double(brain)));
  }
}

TEST_CASE("every float16 and bfloat16 pattern survives widening and narrowing bit-exactly") {
  for (uint32_t b = 0; b <= 0xFFFF; ++b) {
    const auto bits = uint16_t(b);
    INFO("bit pattern " << b);
    CHECK(to_float16_bits(float16_bits_to_float(bits)) == bits);
    CHECK(to_float16_bits(float16_bits_to_double(bits)) == bits);
    CHECK(to_bfloat16_bits(bfloat16_bits_to_float(bits)) == bits);
    CHECK(to_bfloat16_bits(bfloat16_bits_to_double(bits)) == bits);
  }
}

// For adjacent non-negative patterns lo and lo + 1, the midpoint of their values must round to
// the one with the even fraction, and the neighbours of the midpoint to the nearer pattern. Above
// the largest finite pattern, rounding treats 2^(bias + 1) as the next value: reaching it gives
// infinity. Midpoints need man_bits + 2 significant bits, so Real (float or double) holds them.
template <typename Real, typename Encode>
void check_midpoints(int exp_bits, int man_bits, Encode encode) {
  const auto inf_bits = uint16_t(((1 << exp_bits) - 1) << man_bits);
  const int bias = (1 << (exp_bits - 1)) - 1;
  const Real towards_inf = std::numeric_limits<Real>::infinity();
  for (uint16_t lo = 0; lo < inf_bits; ++lo) {
    const auto hi = uint16_t(lo + 1);
    const double hi_value =
        hi == inf_bits ? std::ldexp(1.0, bias + 1) : formula_value(hi, exp_bits, man_bits);
    const auto mid = Real((formula_value(lo, exp_bits, man_bits) + hi_value) / 2);
    const uint16_t even = (lo & 1) ? hi : lo;
    const Real below = std::nextafter(mid, Real(0));
    const Real above = std::nextafter(mid, towards_inf);
    // Checked one by one only on failure: 4 x 65536 doctest assertions would dominate the run.
    if (encode(mid) != even || encode(below) != lo || encode(above) != hi ||
        encode(-mid) != (even | 0x8000) || encode(-above) != (hi | 0x8000)) {
      INFO("between patterns " << lo << " and " << hi << ", midpoint " << mid);
      CHECK(encode(mid) == even);
      CHECK(encode(below) == lo);
      CHECK(encode(above) == hi);
      CHECK(encode(-mid) == (even | 0x8000));
      CHECK(encode(-above) == (hi | 0x8000));
    }
  }
}

TEST_CASE("float16 and bfloat16 round every midpoint to even and other values to the nearest") {
  SUBCASE("float16 from double") {
    check_midpoints<double>(5, 10, [](double x) { return to_float16_bits(x); });
  }
  SUBCASE("float16 from float") {
    check_midpoints<float>(5, 10, [](float x) { return to_float16_bits(x); });
  }
  SUBCASE("bfloat16 from double") {
    check_midpoints<double>(8, 7, [](double x) { return to_bfloat16_bits(x); });
  }
  SUBCASE("bfloat16 from float") {
    check_midpoints<float>(8, 7, [](float x) { return to_bfloat16_bits(x); });
  }
}

TEST_CASE("a double rounds once to float16 and bfloat16, not twice via float") {
  // Just above a midpoint by less than float's precision: via float the excess is lost and the
  // tie goes to even (down); rounded once, the value is above the midpoint and goes up.
  const double above_half_tie = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
  CHECK(to_float16_bits(above_half_tie) == 0x3C01);
  CHECK(to_float16_bits(float(above_half_tie)) == 0x3C00);
  const double above_bfloat_tie = 1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -30);
  CHECK(to_bfloat16_bits(above_bfloat_tie) == 0x3F81);
  CHECK(to_bfloat16_bits(float(above_bfloat_tie)) == 0x3F80);
}

TEST_CASE("narrowing NaN keeps its sign and top payload bits, and never yields infinity") {
  // Payload in the top bits: kept. Payload only in bits that narrowing drops: the quiet bit.
  CHECK(to_float16_bits(std::bit_cast<float>(0xFFA02000u)) == 0xFD01);
  CHECK(to_float16_bits(std::bit_cast<float>(0x7F800001u)) == 0x7E00);
  CHECK(to_bfloat16_bits(std::bit_cast<float>(0x7F810000u)) == 0x7F81);
  CHECK(to_bfloat16_bits(std::bit_cast<float>(0xFF80FFFFu)) == 0xFFC0);
  CHECK(to_float16_bits(std::bit_cast<double>(0x7FF0000000000001ull)) == 0x7E00);
  CHECK(to_float16_bits(std::bit_cast<double>(0xFFF0040000000000ull)) == 0xFC01);
  CHECK(to_bfloat16_bits(std::bit_cast<double>(0x7FF0200000000000ull)) == 0x7F81);
}
