// float16 (IEEE binary16) and bfloat16 as 16-bit patterns: exact widening, and narrowing with one
// round-to-nearest-even step, gradual underflow and overflow to infinity. Used by the .npy reader
// and writer, since PyTorch tensors are often saved in these formats.
#pragma once

#include <cstdint>

namespace flashlab::io {

// Narrowing. A double is rounded once, straight to 16 bits (not via float, which would round
// twice). NaN keeps its sign and the top bits of its payload; a payload that would vanish becomes
// the quiet bit, so the result stays a NaN. Hence float16/bfloat16 -> float -> float16/bfloat16 is
// bit-exact for every pattern, NaN payloads included.
uint16_t to_float16_bits(float x);
uint16_t to_float16_bits(double x);
uint16_t to_bfloat16_bits(float x);
uint16_t to_bfloat16_bits(double x);

// Widening: exact for every value; NaN payloads are shifted up, not replaced by the CPU's default.
float float16_bits_to_float(uint16_t bits);
double float16_bits_to_double(uint16_t bits);
float bfloat16_bits_to_float(uint16_t bits);
double bfloat16_bits_to_double(uint16_t bits);

}  // namespace flashlab::io
