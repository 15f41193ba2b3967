// The element type a run models (--dtype): inputs are rounded to it once, and the simulator's
// element size follows it (2 bytes for fp16/bf16 as on the GPU, 4 for fp32).
#pragma once

#include <cstdint>
#include <string>

#include <flashlab/core/tensor.hpp>

namespace flashlab::cli {

enum class DType { Float16, BFloat16, Float32 };

// "fp16", "bf16" or "fp32" (also "float16", "bfloat16", "float32"); throws flashlab::Error.
DType parse_dtype(const std::string& text);
std::string dtype_name(DType dtype);  // "fp16", "bf16", "fp32"
int64_t element_bytes(DType dtype);

// The nearest value of `dtype` (round to nearest even, once, straight from double).
double round_to(DType dtype, double value);
void round_to(DType dtype, Tensor<double>& tensor);

}  // namespace flashlab::cli
