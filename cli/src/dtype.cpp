// --dtype: names, element sizes and rounding through flashlab::io's float16/bfloat16 conversions.
#include <flashlab/cli/dtype.hpp>

#include <flashlab/core/error.hpp>
#include <flashlab/io/half.hpp>

namespace flashlab::cli {

DType parse_dtype(const std::string& text) {
  if (text == "fp16" || text == "float16") return DType::Float16;
  if (text == "bf16" || text == "bfloat16") return DType::BFloat16;
  if (text == "fp32" || text == "float32") return DType::Float32;
  throw Error("--dtype must be fp16, bf16 or fp32, got '" + text + "'");
}

std::string dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float16:
      return "fp16";
    case DType::BFloat16:
      return "bf16";
    case DType::Float32:
      return "fp32";
  }
  return "?";
}

int64_t element_bytes(DType dtype) {
  return dtype == DType::Float32 ? 4 : 2;
}

double round_to(DType dtype, double value) {
  switch (dtype) {
    case DType::Float16:
      return io::float16_bits_to_double(io::to_float16_bits(value));
    case DType::BFloat16:
      return io::bfloat16_bits_to_double(io::to_bfloat16_bits(value));
    case DType::Float32:
      return double(static_cast<float>(value));
  }
  return value;
}

void round_to(DType dtype, Tensor<double>& tensor) {
  for (double& x : tensor.data) x = round_to(dtype, x);
}

}  // namespace flashlab::cli
