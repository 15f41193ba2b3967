// The tensors every implementation runs on: random normal from a seed, or .npy files (e.g. saved
// from PyTorch), rounded once to the run's dtype so that the reference sees the same values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <flashlab/cli/dtype.hpp>
#include <flashlab/core/shape.hpp>
#include <flashlab/core/tensor.hpp>

namespace flashlab::cli {

struct Inputs {
  Tensor<double> Q, K, V;  // [batch, heads, seq, head_dim], values exactly representable in dtype
  Tensor<double> dO;       // upstream gradient, same dims as Q; empty unless the backward runs
};

// Which random stream a tensor draws from (the "tensor id" of random_normal).
enum class InputStream : uint32_t { Q = 0, K = 1, V = 2, dO = 3 };

// Standard normal element `index` of stream `stream` for `seed`, portable and stateless:
// (w0, w1, -, -) = Philox-4x32-10(counter = (index mod 2^32, index / 2^32, stream, 0x666c6162),
// key = (seed mod 2^32, seed / 2^32)); u1 = (w0 + 0.5) / 2^32, u2 = (w1 + 0.5) / 2^32;
// value = sqrt(-2 ln u1) cos(2 pi u2) (Box-Muller). docs/cli.md shows the same in NumPy.
double random_normal(uint64_t seed, InputStream stream, uint64_t index);

// Q, K, V (and dO when `with_dO`) of `shape` from random_normal, rounded to `dtype`.
Inputs random_inputs(const AttentionShape& shape, uint64_t seed, bool with_dO, DType dtype);

// Reads one input tensor given as `option` (e.g. "--q") from a .npy file of float16, bfloat16,
// float32 or float64. A 4-D array is [batch, heads, seq, head_dim]; a 3-D [heads, seq, head_dim]
// or 2-D [seq, head_dim] array gets leading dims of 1. Values are rounded to `dtype`. Throws
// flashlab::Error naming the option and file for a missing or malformed file, another rank, an
// empty dimension, a NaN or Inf, or a value that overflows `dtype`.
Tensor<double> load_input_tensor(const std::string& path, const std::string& option, DType dtype);

// The float32 copy the simulator takes: exact, since the inputs are rounded to fp16, bf16 or fp32.
Tensor<float> to_float(const Tensor<double>& tensor);

// The shape of Q [b, h, seq_q, d] and K, V [b, h, seq_k, d] (and dO = Q's dims); throws
// flashlab::Error naming both shapes when they do not fit together.
AttentionShape shape_of_inputs(const Inputs& inputs, bool with_dO);

}  // namespace flashlab::cli
