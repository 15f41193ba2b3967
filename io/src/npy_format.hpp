// The .npy container, private to flashlab::io: the dtype table, and the preamble and header dict
// (magic, version, header length, {'descr': ..., 'fortran_order': ..., 'shape': (...), }).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <flashlab/io/npy.hpp>

namespace flashlab::io::detail {

// What a valid header says about the array that follows it.
struct NpyHeader {
  std::string dtype;           // normalized name, as in NpyArray::dtype
  std::vector<int64_t> shape;  // every dim >= 0
  size_t data_offset = 0;      // bytes of preamble and header before the data
  int64_t data_bytes = 0;      // product(shape) * itemsize, known not to overflow
};

// Parses and validates everything before the data: throws Error naming `source` and the problem.
NpyHeader parse_npy_header(std::span<const uint8_t> file, const std::string& source,
                           const NpyReadOptions& options);

// Magic, version, header length and the space-padded header dict, ending in '\n' at a multiple of
// 64 bytes. Expects a known dtype and a valid shape.
std::string format_npy_header(const std::string& dtype, const std::vector<int64_t>& shape);

// product(shape) * itemsize; -1 if a dim is negative or the product of the nonzero dims times
// itemsize exceeds int64 (then even an empty array's dims cannot be multiplied out safely).
int64_t checked_byte_count(const std::vector<int64_t>& shape, int64_t itemsize);

// "1 byte", "24 bytes".
std::string byte_count(int64_t n);

// Throws Error unless array.bytes.size() matches its dtype and shape: the invariant of every
// NpyArray that is returned, decoded or written. `name` says which array.
void require_consistent(const NpyArray& array, const std::string& name);

}  // namespace flashlab::io::detail
