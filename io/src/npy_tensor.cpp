// Between NpyArray bytes and Tensor values: decoding every supported dtype, and encoding float
// tensors in the storage the caller picks (float16 and bfloat16 via half.hpp).
#include <flashlab/io/npy.hpp>

#include <bit>
#include <cstring>
#include <type_traits>

#include <flashlab/io/half.hpp>

#include "npy_format.hpp"

namespace flashlab::io {
namespace {

static_assert(std::endian::native == std::endian::little,
              ".npy data is read and written as little-endian, the byte order of this host");

template <typename E>
E load(const std::vector<uint8_t>& bytes, size_t i) {
  E value;
  std::memcpy(&value, bytes.data() + i * sizeof(E), sizeof(E));
  return value;
}

template <typename E>
void store(std::vector<uint8_t>& bytes, size_t i, E value) {
  std::memcpy(bytes.data() + i * sizeof(E), &value, sizeof(E));
}

// Applies convert to each element, stored as E, of an array whose size was checked.
template <typename E, typename T, typename Convert>
Tensor<T> decode(const NpyArray& array, Convert convert) {
  Tensor<T> tensor(array.shape);
  for (size_t i = 0; i < tensor.data.size(); ++i) tensor.data[i] = convert(load<E>(array.bytes, i));
  return tensor;
}

template <typename T>
Tensor<T> decode_float(const NpyArray& array) {
  const std::string& dtype = array.dtype;
  if (dtype == "float16")
    return decode<uint16_t, T>(array, [](uint16_t b) {
      if constexpr (std::is_same_v<T, float>)
        return float16_bits_to_float(b);
      else
        return float16_bits_to_double(b);
    });
  if (dtype == "bfloat16")
    return decode<uint16_t, T>(array, [](uint16_t b) {
      if constexpr (std::is_same_v<T, float>)
        return bfloat16_bits_to_float(b);
      else
        return bfloat16_bits_to_double(b);
    });
  if (dtype == "float32") return decode<float, T>(array, [](float x) { return T(x); });
  if (dtype == "float64") return decode<double, T>(array, [](double x) { return T(x); });
  throw Error(array.source + " holds " + dtype +
              ", expected a floating-point dtype (float16, bfloat16, float32, float64)");
}

// An integer as T; values that T cannot hold are refused rather than wrapped (a 256 in a block
// layout is a bug in whatever wrote it).
template <typename T>
T checked_integer(int64_t v, [[maybe_unused]] const NpyArray& array) {
  if constexpr (std::is_same_v<T, uint8_t>) {
    if (v < 0 || v > 255)
      throw Error(array.source + " holds the value " + std::to_string(v) +
                  ", which does not fit in uint8 (0..255)");
  }
  return T(v);
}

template <typename T>
Tensor<T> decode_integer(const NpyArray& array) {
  const auto checked = [&array](int64_t v) { return checked_integer<T>(v, array); };
  const std::string& dtype = array.dtype;
  if (dtype == "uint8" || dtype == "bool")
    return decode<uint8_t, T>(array, [&](uint8_t v) { return checked(v); });
  if (dtype == "int32") return decode<int32_t, T>(array, [&](int32_t v) { return checked(v); });
  if (dtype == "int64") return decode<int64_t, T>(array, [&](int64_t v) { return checked(v); });
  throw Error(array.source + " holds " + dtype +
              ", expected an integer dtype (uint8, bool, int32, int64)");
}

template <typename T>
NpyArray encode(const Tensor<T>& tensor, NpyStorage storage) {
  const int64_t count = detail::checked_byte_count(tensor.dims, 1);
  require(count >= 0 && count == tensor.size(), "cannot save a tensor of shape " +
                                                    dims_to_string(tensor.dims) + " holding " +
                                                    std::to_string(tensor.size()) + " elements");
  const auto encode_as = [&tensor](const char* dtype, auto convert) {
    using E = decltype(convert(T{}));
    NpyArray array{dtype, tensor.dims, std::vector<uint8_t>(tensor.data.size() * sizeof(E)), ""};
    for (size_t i = 0; i < tensor.data.size(); ++i)
      store<E>(array.bytes, i, convert(tensor.data[i]));
    return array;
  };
  switch (storage) {
    case NpyStorage::kNative:
      return encode_as(std::is_same_v<T, float> ? "float32" : "float64", [](T x) { return x; });
    case NpyStorage::kFloat32:
      return encode_as("float32", [](T x) { return float(x); });
    case NpyStorage::kFloat64:
      return encode_as("float64", [](T x) { return double(x); });
    case NpyStorage::kFloat16:
      return encode_as("float16", [](T x) { return to_float16_bits(x); });
    case NpyStorage::kBfloat16:
      return encode_as("float32", [](T x) { return bfloat16_bits_to_float(to_bfloat16_bits(x)); });
    case NpyStorage::kBfloat16Raw:
      return encode_as("bfloat16", [](T x) { return to_bfloat16_bits(x); });
  }
  throw Error("unknown NpyStorage " + std::to_string(int(storage)));
}

}  // namespace

template <typename T>
Tensor<T> to_tensor(const NpyArray& array) {
  detail::require_consistent(array, array.source);
  if constexpr (std::is_floating_point_v<T>)
    return decode_float<T>(array);
  else
    return decode_integer<T>(array);
}

template Tensor<double> to_tensor<double>(const NpyArray&);
template Tensor<float> to_tensor<float>(const NpyArray&);
template Tensor<uint8_t> to_tensor<uint8_t>(const NpyArray&);
template Tensor<int64_t> to_tensor<int64_t>(const NpyArray&);

NpyArray to_npy_array(const Tensor<float>& tensor, NpyStorage storage) {
  return encode(tensor, storage);
}
NpyArray to_npy_array(const Tensor<double>& tensor, NpyStorage storage) {
  return encode(tensor, storage);
}

}  // namespace flashlab::io
