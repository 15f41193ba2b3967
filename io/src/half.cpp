// float16 and bfloat16 conversions on bit patterns (see half.hpp). Narrowing goes through one
// generic rounding routine on the double's significand; widening builds the float's bits.
#include <flashlab/io/half.hpp>

#include <algorithm>
#include <bit>
#include <cmath>

namespace flashlab::io {
namespace {

// A 16-bit binary format: 1 sign bit, exp_bits exponent bits (bias 2^(exp_bits-1) - 1), man_bits
// fraction bits.
struct Format16 {
  int exp_bits;
  int man_bits;
};
constexpr Format16 kFloat16{5, 10};
constexpr Format16 kBfloat16{8, 7};

constexpr uint64_t kDoubleFracMask = (uint64_t{1} << 52) - 1;
constexpr uint32_t kFloatFracMask = (uint32_t{1} << 23) - 1;

// Rounds a double that is not NaN to the format, ties to even. Every float16/bfloat16 value and
// every rounding midpoint is a double, so deciding on the double's exact significand rounds once.
uint16_t round_to_format(double x, Format16 f) {
  const uint64_t b = std::bit_cast<uint64_t>(x);
  const auto sign = uint16_t((b >> 63) << 15);
  const int bias = (1 << (f.exp_bits - 1)) - 1;
  const uint64_t inf = uint64_t((1 << f.exp_bits) - 1) << f.man_bits;
  const int biased_exp = int((b >> 52) & 0x7FF);
  if (biased_exp == 0x7FF) return uint16_t(sign | inf);  // infinity (NaN is the caller's)
  // Zero, or a double subnormal (< 2^-1022): far below half the smallest 16-bit subnormal.
  if (biased_exp == 0) return sign;
  const int e = biased_exp - 1023;
  if (e > bias) return uint16_t(sign | inf);  // >= 2^(bias+1), above the largest finite value
  const uint64_t m = (uint64_t{1} << 52) | (b & kDoubleFracMask);  // |x| = m * 2^(e-52)
  // Keep man_bits fraction bits, counted from the exponent e, or from the smallest normal
  // exponent when |x| falls into the subnormal range (gradual underflow).
  const int emin = 1 - bias;
  const int shift = 52 - f.man_bits + std::max(0, emin - e);
  if (shift > 53) return sign;  // m < 2^53 <= half a unit: rounds to zero
  uint64_t q = m >> shift;
  const uint64_t rest = m & ((uint64_t{1} << shift) - 1);
  const uint64_t half_unit = uint64_t{1} << (shift - 1);
  if (rest > half_unit || (rest == half_unit && (q & 1))) ++q;
  // A normal q carries the implicit 1 at bit man_bits, so adding it to exponent-1 lets a round-up
  // that overflows the fraction carry into the exponent (and up to infinity).
  uint64_t magnitude = e >= emin ? (uint64_t(e + bias - 1) << f.man_bits) + q : q;
  return uint16_t(sign | std::min(magnitude, inf));
}

// NaN: sign, all-ones exponent, and the top fraction bits of the payload (quiet bit if none).
uint16_t nan_to_format(uint64_t sign, uint64_t payload_top, Format16 f) {
  const uint64_t exp_ones = uint64_t((1 << f.exp_bits) - 1) << f.man_bits;
  if (payload_top == 0) payload_top = uint64_t{1} << (f.man_bits - 1);
  return uint16_t((sign << 15) | exp_ones | payload_top);
}

uint16_t narrow(float x, Format16 f) {
  if (!std::isnan(x)) return round_to_format(double(x), f);
  const auto b = std::bit_cast<uint32_t>(x);
  return nan_to_format(b >> 31, (b & kFloatFracMask) >> (23 - f.man_bits), f);
}

uint16_t narrow(double x, Format16 f) {
  if (!std::isnan(x)) return round_to_format(x, f);
  const auto b = std::bit_cast<uint64_t>(x);
  return nan_to_format(b >> 63, (b & kDoubleFracMask) >> (52 - f.man_bits), f);
}

// float -> double that keeps a NaN's payload bits (the CPU would set the quiet bit).
double widen(float x) {
  if (!std::isnan(x)) return double(x);
  const auto b = std::bit_cast<uint32_t>(x);
  return std::bit_cast<double>((uint64_t(b >> 31) << 63) | (uint64_t{0x7FF} << 52) |
                               (uint64_t(b & kFloatFracMask) << 29));
}

}  // namespace

uint16_t to_float16_bits(float x) {
  return narrow(x, kFloat16);
}
uint16_t to_float16_bits(double x) {
  return narrow(x, kFloat16);
}
uint16_t to_bfloat16_bits(float x) {
  return narrow(x, kBfloat16);
}
uint16_t to_bfloat16_bits(double x) {
  return narrow(x, kBfloat16);
}

float float16_bits_to_float(uint16_t bits) {
  const uint32_t sign = uint32_t(bits >> 15) << 31;
  int exp = (bits >> 10) & 0x1F;
  uint32_t man = bits & 0x3FFu;
  if (exp == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (man << 13));  // inf, NaN
  if (exp == 0) {
    if (man == 0) return std::bit_cast<float>(sign);  // +-0
    // Subnormal man * 2^-24: normalize, since every float16 subnormal is a normal float.
    exp = 1;
    while ((man & 0x400) == 0) {
      man <<= 1;
      --exp;
    }
    man &= 0x3FFu;
  }
  return std::bit_cast<float>(sign | (uint32_t(exp + 127 - 15) << 23) | (man << 13));
}

// bfloat16 is the top half of a float32: same sign, exponent and bias, 7 of the 23 fraction bits.
float bfloat16_bits_to_float(uint16_t bits) {
  return std::bit_cast<float>(uint32_t{bits} << 16);
}

double float16_bits_to_double(uint16_t bits) {
  return widen(float16_bits_to_float(bits));
}
double bfloat16_bits_to_double(uint16_t bits) {
  return widen(bfloat16_bits_to_float(bits));
}

}  // namespace flashlab::io
