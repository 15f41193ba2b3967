// Max abs and relative L2 error of a tensor against the float64 reference.
#include <flashlab/cli/error_metrics.hpp>

#include <cmath>
#include <limits>

namespace flashlab::cli {

ErrorMetrics error_metrics(const Tensor<double>& actual, const Tensor<double>& expected) {
  require(actual.dims == expected.dims, "cannot compare a tensor of shape " +
                                            dims_to_string(actual.dims) + " with one of shape " +
                                            dims_to_string(expected.dims));
  constexpr double kInf = std::numeric_limits<double>::infinity();
  ErrorMetrics m;
  double diff_squares = 0.0, expected_squares = 0.0;
  bool nan = false, nonfinite_mismatch = false;
  for (size_t i = 0; i < actual.data.size(); ++i) {
    const double a = actual.data[i], e = expected.data[i];
    if (std::isnan(a) || std::isnan(e)) {
      nan = true;
      continue;
    }
    if (!std::isfinite(a) || !std::isfinite(e)) {
      if (a != e) nonfinite_mismatch = true;
      continue;  // the same infinity on both sides: agreement
    }
    const double d = std::fabs(a - e);
    m.max_abs = std::fmax(m.max_abs, d);
    diff_squares += d * d;
    expected_squares += e * e;
  }
  if (nan) return {std::nan(""), std::nan("")};
  if (nonfinite_mismatch) return {kInf, kInf};
  if (expected_squares == 0.0) {
    m.rel_l2 = diff_squares == 0.0 ? 0.0 : kInf;
  } else {
    m.rel_l2 = std::sqrt(diff_squares) / std::sqrt(expected_squares);
  }
  return m;
}

}  // namespace flashlab::cli
