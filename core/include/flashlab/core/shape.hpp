// The problem size of one attention call: tensors are row-major [batch, heads, seq, head_dim],
// the layout of PyTorch's scaled_dot_product_attention.
#pragma once

#include <cstdint>
#include <string>

#include <flashlab/core/error.hpp>
#include <flashlab/core/host_device.hpp>

namespace flashlab {

struct AttentionShape {
  int64_t batch = 1;
  int64_t heads = 1;
  int64_t seq_q = 1;
  int64_t seq_k = 1;
  int64_t head_dim = 1;

  FLASHLAB_HD int64_t q_elements() const { return batch * heads * seq_q * head_dim; }
  FLASHLAB_HD int64_t kv_elements() const { return batch * heads * seq_k * head_dim; }
  FLASHLAB_HD int64_t lse_elements() const { return batch * heads * seq_q; }
  // Offset of element (b, h, row, 0) in a [batch, heads, seq, head_dim] tensor of `seq` rows.
  FLASHLAB_HD int64_t offset(int64_t b, int64_t h, int64_t row, int64_t seq) const {
    return ((b * heads + h) * seq + row) * head_dim;
  }
};

inline std::string to_string(const AttentionShape& s) {
  return "[batch=" + std::to_string(s.batch) + ", heads=" + std::to_string(s.heads) +
         ", seq_q=" + std::to_string(s.seq_q) + ", seq_k=" + std::to_string(s.seq_k) +
         ", head_dim=" + std::to_string(s.head_dim) + "]";
}

// Upper bound on any one dimension: keeps every element count inside int64 and every
// per-dimension index inside int32 (the CUDA kernels index rows with int).
inline constexpr int64_t kMaxDimension = int64_t{1} << 30;

inline void validate(const AttentionShape& s) {
  auto check = [](int64_t value, const char* name) {
    require(value >= 1 && value <= kMaxDimension,
            std::string(name) + " must be between 1 and 2^30, got " + std::to_string(value));
  };
  check(s.batch, "batch");
  check(s.heads, "heads");
  check(s.seq_q, "seq_q");
  check(s.seq_k, "seq_k");
  check(s.head_dim, "head_dim");
  const double elements = double(s.batch) * double(s.heads) *
                          double(s.seq_q > s.seq_k ? s.seq_q : s.seq_k) * double(s.head_dim);
  require(elements < 9.0e18, "shape " + to_string(s) + " has too many elements");
}

}  // namespace flashlab
