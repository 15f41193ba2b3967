// Random and file inputs for compare: Philox + Box-Muller normals, .npy loading through
// flashlab::io, rank normalisation, finiteness and dtype-overflow checks.
#include <flashlab/cli/inputs.hpp>

#include <cmath>
#include <flashlab/core/error.hpp>
#include <flashlab/core/philox.hpp>
#include <flashlab/io/npy.hpp>
#include <numbers>

namespace flashlab::cli {
namespace {

constexpr uint32_t kStreamTag = 0x666c6162;  // "flab": keeps these streams apart from dropout's

Tensor<double> random_tensor(std::vector<int64_t> dims, uint64_t seed, InputStream stream,
                             DType dtype) {
  Tensor<double> t(std::move(dims));
  for (size_t i = 0; i < t.data.size(); ++i)
    t.data[i] = round_to(dtype, random_normal(seed, stream, uint64_t(i)));
  return t;
}

// "[0, 1, 5, 3]": the multi-index of flat element `flat` of a tensor with `dims`.
std::string index_string(const std::vector<int64_t>& dims, int64_t flat) {
  std::vector<int64_t> index(dims.size());
  for (size_t k = dims.size(); k-- > 0;) {
    index[k] = flat % dims[k];
    flat /= dims[k];
  }
  return dims_to_string(index);
}

}  // namespace

double random_normal(uint64_t seed, InputStream stream, uint64_t index) {
  const Philox4x32 counter = {{static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32),
                               static_cast<uint32_t>(stream), kStreamTag}};
  const Philox4x32 w =
      philox4x32<10>(counter, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  const double u1 = (double(w.x[0]) + 0.5) / 4294967296.0;
  const double u2 = (double(w.x[1]) + 0.5) / 4294967296.0;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

Inputs random_inputs(const AttentionShape& shape, uint64_t seed, bool with_dO, DType dtype) {
  Inputs in;
  in.Q = random_tensor(q_dims(shape), seed, InputStream::Q, dtype);
  in.K = random_tensor(kv_dims(shape), seed, InputStream::K, dtype);
  in.V = random_tensor(kv_dims(shape), seed, InputStream::V, dtype);
  if (with_dO) in.dO = random_tensor(q_dims(shape), seed, InputStream::dO, dtype);
  return in;
}

Tensor<double> load_input_tensor(const std::string& path, const std::string& option, DType dtype) {
  const std::string where = option + " " + path;
  io::NpyReadOptions read_options;
  read_options.void2_is_bfloat16 = dtype == DType::BFloat16;
  read_options.accepted_dtypes = {"float16", "bfloat16", "float32", "float64"};
  read_options.void2_hint = "add --dtype bf16";
  io::NpyArray array;
  try {
    array = io::read_npy(path, read_options);
  } catch (const Error& e) {
    throw Error(option + ": " + e.what());
  }
  std::vector<int64_t> dims = array.shape;
  require(dims.size() >= 2 && dims.size() <= 4,
          where + " has shape " + dims_to_string(dims) +
              "; expected [batch, heads, seq, head_dim] (or [heads, seq, head_dim], "
              "[seq, head_dim])");
  for (int64_t d : dims)
    require(d >= 1,
            where + " has shape " + dims_to_string(dims) + "; every dimension must be >= 1");
  Tensor<double> tensor = io::to_tensor<double>(array);
  while (dims.size() < 4) dims.insert(dims.begin(), 1);
  tensor.dims = dims;
  for (size_t i = 0; i < tensor.data.size(); ++i) {
    const double x = tensor.data[i];
    require(std::isfinite(x), where + " holds " + (std::isnan(x) ? "NaN" : "Inf") + " at index " +
                                  index_string(array.shape, int64_t(i)) +
                                  "; inputs must be finite");
    const double rounded = round_to(dtype, x);
    require(std::isfinite(rounded), where + " holds " + std::to_string(x) + " at index " +
                                        index_string(array.shape, int64_t(i)) +
                                        ", which overflows " + dtype_name(dtype) +
                                        " (choose a wider --dtype)");
    tensor.data[i] = rounded;
  }
  return tensor;
}

Tensor<float> to_float(const Tensor<double>& tensor) {
  Tensor<float> out;
  out.dims = tensor.dims;
  out.data.reserve(tensor.data.size());
  for (double x : tensor.data) out.data.push_back(static_cast<float>(x));
  return out;
}

AttentionShape shape_of_inputs(const Inputs& in, bool with_dO) {
  const auto& q = in.Q.dims;
  const auto& k = in.K.dims;
  const auto& v = in.V.dims;
  // Q fits K when batch, heads and head_dim agree (seq may differ).
  auto fits = [](const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    return a[0] == b[0] && a[1] == b[1] && a[3] == b[3];
  };
  const std::string kq = "[batch, heads, seq, head_dim]: Q, K, V share batch, heads and head_dim";
  if (k == v) {
    // K and V agree, so the odd one out is Q.
    require(fits(q, k), "--q shape " + dims_to_string(q) + " does not fit --k and --v shape " +
                            dims_to_string(k) + "; " + kq);
  } else {
    // K and V disagree: the one that does not fit Q is at fault (both, if neither does).
    const bool k_fits = fits(q, k), v_fits = fits(q, v);
    require(k_fits || v_fits, "--q " + dims_to_string(q) + ", --k " + dims_to_string(k) +
                                  " and --v " + dims_to_string(v) + " all disagree; " + kq);
    require(k_fits, "--k shape " + dims_to_string(k) + " does not match --v shape " +
                        dims_to_string(v) + ", which fits --q " + dims_to_string(q) +
                        "; K and V must have the same shape");
    throw Error("--v shape " + dims_to_string(v) + " does not match --k shape " +
                dims_to_string(k) + ", which fits --q " + dims_to_string(q) +
                "; K and V must have the same shape");
  }
  if (with_dO)
    require(in.dO.dims == q, "--do shape " + dims_to_string(in.dO.dims) +
                                 " does not match --q shape " + dims_to_string(q) +
                                 ": dO must have the shape of Q (and O)");
  return AttentionShape{q[0], q[1], q[2], k[2], q[3]};
}

}  // namespace flashlab::cli
