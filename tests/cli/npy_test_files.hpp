// A minimal .npy writer and reader written for the tests alone (not flashlab::io), so the CLI's
// file handling is checked against an independent implementation of the format.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flashlab::test {

struct NpyFile {
  std::string descr;  // "<f2", "<f4", "<f8", "|u1"
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // little-endian element bytes, C order
};

// The bytes of a version 1.0 .npy file with a header padded to 64 bytes.
std::vector<uint8_t> npy_bytes(const NpyFile& file);
void write_npy_file(const std::string& path, const NpyFile& file);
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);

// Parses a version 1.0 file written by anyone (descr, shape, data); throws std::runtime_error.
NpyFile read_npy_file(const std::string& path);

// Element i of a '<f2', '<f4' or '<f8' array as double.
double npy_element(const NpyFile& file, size_t i);
size_t npy_count(const NpyFile& file);

// IEEE binary16 bits to double (the plain formula: sign, exponent, mantissa).
double half_to_double(uint16_t bits);

NpyFile float32_npy(const std::vector<int64_t>& shape, const std::vector<float>& values);
NpyFile float64_npy(const std::vector<int64_t>& shape, const std::vector<double>& values);
NpyFile float16_npy(const std::vector<int64_t>& shape, const std::vector<uint16_t>& bits);

}  // namespace flashlab::test
