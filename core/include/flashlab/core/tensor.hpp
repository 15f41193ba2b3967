// A host tensor: contiguous row-major data with its dimensions. The common currency between the
// reference, the simulator, the .npy files and the CUDA host API.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <flashlab/core/error.hpp>
#include <flashlab/core/shape.hpp>

namespace flashlab {

template <typename T>
struct Tensor {
  std::vector<int64_t> dims;
  std::vector<T> data;

  Tensor() = default;
  explicit Tensor(std::vector<int64_t> d, T fill = T(0)) : dims(std::move(d)) {
    int64_t n = 1;
    for (int64_t x : dims) n *= x;
    data.assign(size_t(n), fill);
  }
  int64_t size() const { return int64_t(data.size()); }
  T* ptr() { return data.data(); }
  const T* ptr() const { return data.data(); }
};

inline std::string dims_to_string(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

// Dimensions of the attention tensors for a shape: Q, O, dQ, dO; K, V, dK, dV; logsumexp.
inline std::vector<int64_t> q_dims(const AttentionShape& s) {
  return {s.batch, s.heads, s.seq_q, s.head_dim};
}
inline std::vector<int64_t> kv_dims(const AttentionShape& s) {
  return {s.batch, s.heads, s.seq_k, s.head_dim};
}
inline std::vector<int64_t> lse_dims(const AttentionShape& s) {
  return {s.batch, s.heads, s.seq_q};
}

template <typename T>
void require_dims(const Tensor<T>& t, const std::vector<int64_t>& expected, const char* name) {
  require(t.dims == expected, std::string(name) + " has shape " + dims_to_string(t.dims) +
                                  ", expected " + dims_to_string(expected));
  int64_t n = 1;
  for (int64_t x : expected) n *= x;
  require(t.size() == n, std::string(name) + " holds " + std::to_string(t.size()) +
                             " elements, its shape needs " + std::to_string(n));
}

}  // namespace flashlab
