// Helpers shared by the simulator tests: float <-> double tensors and error measures against the
// float64 reference.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include <flashlab/core/tensor.hpp>

namespace flashlab::test {

inline Tensor<double> to_double(const Tensor<float>& t) {
  Tensor<double> d(t.dims);
  for (size_t k = 0; k < t.data.size(); ++k) d.data[k] = t.data[k];
  return d;
}

// ||a - b||_2 / ||b||_2 over the finite entries of b (entries where both are -inf agree).
inline double rel_l2(const Tensor<float>& a, const Tensor<double>& b) {
  double num = 0, den = 0;
  for (size_t k = 0; k < b.data.size(); ++k) {
    if (std::isinf(b.data[k]) && double(a.data[k]) == b.data[k]) continue;
    const double e = double(a.data[k]) - b.data[k];
    num += e * e;
    den += b.data[k] * b.data[k];
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

// max |a - b| / max(1, max |b|): an absolute error scaled by the tensor's magnitude.
inline double scaled_max_abs(const Tensor<float>& a, const Tensor<double>& b) {
  double err = 0, mag = 1;
  for (size_t k = 0; k < b.data.size(); ++k) {
    if (std::isinf(b.data[k])) {
      if (double(a.data[k]) != b.data[k]) return INFINITY;  // -inf lse must be exactly -inf
      continue;
    }
    err = std::max(err, std::abs(double(a.data[k]) - b.data[k]));
    mag = std::max(mag, std::abs(b.data[k]));
  }
  return err / mag;
}

// Float arithmetic against the double reference. Unit roundoff u = 2^-24 ~ 6e-8; a dot product
// of length K in float has relative error ~ sqrt(K) u typically (K u worst case); the tiled
// algorithms add one rescale per block (a few u per step). With K <= ~600 and a few hundred
// blocks this is ~1e-6 typically, so 1e-5 (relative L2) leaves a margin of ~10x without hiding
// a wrong block or a missing rescale, which give errors of order 1e-1.
inline constexpr double kForwardTolerance = 1e-5;
// The backward subtracts D_i from dP_ij (cancellation of terms of similar size) and sums
// T_c partial dQ's; allow 3x more.
inline constexpr double kBackwardTolerance = 3e-5;

inline void check_close(const Tensor<float>& got, const Tensor<double>& want, double tolerance,
                        const std::string& what) {
  REQUIRE(got.dims == want.dims);
  const double l2 = rel_l2(got, want), mx = scaled_max_abs(got, want);
  INFO(what << ": relative L2 error " << l2 << ", scaled max-abs error " << mx);
  CHECK(l2 < tolerance);
  CHECK(mx < 10 * tolerance);
}

}  // namespace flashlab::test
