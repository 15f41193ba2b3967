// NumPy .npy files (format versions 1.0, 2.0 and 3.0): how tensors enter and leave flashlab.
// PyTorch or NumPy save Q, K, V (and block layouts) as .npy; flashlab writes O and gradients back.
// Reading is strict: anything this file does not describe exactly is refused with flashlab::Error.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <flashlab/core/tensor.hpp>

namespace flashlab::io {

// One array as stored in a .npy file: C-order, little-endian elements, not yet decoded.
struct NpyArray {
  // "float16", "bfloat16", "float32", "float64", "uint8", "bool", "int32" or "int64".
  std::string dtype;
  std::vector<int64_t> shape;  // {} for a 0-d (scalar) array, which holds one element
  std::vector<uint8_t> bytes;  // product(shape) * npy_itemsize(dtype) bytes
  std::string source;          // the file (or name) it came from; error messages start with it
};

struct NpyReadOptions {
  // ml_dtypes (used by JAX and for bfloat16 NumPy arrays) saves bfloat16 with descr '<V2': "two
  // raw bytes". Only the caller knows those bytes are bfloat16, so '<V2' and '|V2' are accepted,
  // as bfloat16, only when this is set. The descr 'bfloat16' is always accepted.
  bool void2_is_bfloat16 = false;
  // The dtypes the caller takes (names as in NpyArray::dtype); empty: every dtype this reader
  // decodes. A file of another dtype is refused when its header is read, and every message
  // about dtypes lists only these, so a user is never offered a dtype that is refused later.
  std::vector<std::string> accepted_dtypes;
  // What the caller's user does to read '<V2' as bfloat16, said when such a file is refused.
  std::string void2_hint = "read it with NpyReadOptions::void2_is_bfloat16 = true";
};

// How write_npy stores a float tensor.
enum class NpyStorage {
  kNative,    // float as '<f4', double as '<f8'
  kFloat32,   // '<f4' (a double rounds to nearest even)
  kFloat64,   // '<f8'
  kFloat16,   // '<f2', each value rounded to nearest even
  kBfloat16,  // each value rounded to bfloat16, then stored exactly as '<f4'. This is the default
              // way to save bfloat16 because NumPy has no bfloat16: '<V2' files only open as
              // bfloat16 with ml_dtypes, while '<f4' opens everywhere and costs only file size.
  kBfloat16Raw,  // the 2-byte bfloat16 patterns with descr '<V2', as ml_dtypes writes them
};

// Bytes per element of a dtype name listed in NpyArray::dtype; throws Error for any other name.
int64_t npy_itemsize(const std::string& dtype);

// Reads a whole .npy file. Throws Error naming the file and the problem if it is missing,
// unreadable or malformed: wrong magic, unsupported version, truncated or malformed header,
// unsupported dtype, big-endian or Fortran-order data, or data bytes that do not match the shape
// (too few, or extra bytes after the array).
NpyArray read_npy(const std::string& path, const NpyReadOptions& options = {});

// The parser read_npy uses, on the file's bytes in memory; `source` names them in messages.
NpyArray parse_npy(std::vector<uint8_t> file, const std::string& source,
                   const NpyReadOptions& options = {});

// The exact bytes write_npy writes: a version 1.0 header, space-padded and ending in '\n' so that
// the data starts at a multiple of 64 bytes, then the data. bfloat16 is written with descr '<V2'.
// Throws Error if bytes.size() does not match dtype and shape, or there are more than 64 dims.
std::vector<uint8_t> serialize_npy(const NpyArray& array);
void write_npy(const std::string& path, const NpyArray& array);

// Encodes a tensor for writing. Throws Error if its data size does not match its dims.
NpyArray to_npy_array(const Tensor<float>& tensor, NpyStorage storage = NpyStorage::kNative);
NpyArray to_npy_array(const Tensor<double>& tensor, NpyStorage storage = NpyStorage::kNative);
void write_npy(const std::string& path, const Tensor<float>& tensor,
               NpyStorage storage = NpyStorage::kNative);
void write_npy(const std::string& path, const Tensor<double>& tensor,
               NpyStorage storage = NpyStorage::kNative);

// Decodes an array into a tensor with the same shape. T is one of:
//   double, float  from float16, bfloat16, float32, float64 (exact, except float64 -> float,
//                  which rounds to nearest even);
//   uint8_t        from uint8, bool, int32, int64 holding values in [0, 255] (block layouts);
//   int64_t        from uint8, bool, int32, int64.
// Throws Error naming the array's source for any other dtype, or an out-of-range value.
template <typename T>
Tensor<T> to_tensor(const NpyArray& array);

// read_npy followed by to_tensor<T>.
template <typename T>
Tensor<T> read_tensor(const std::string& path, const NpyReadOptions& options = {}) {
  return to_tensor<T>(read_npy(path, options));
}

// Throws Error("q.npy has shape [2, 3, 4], expected [1, 2, 3, 4]") unless the shapes are equal.
void require_shape(const NpyArray& array, const std::vector<int64_t>& expected);

}  // namespace flashlab::io
