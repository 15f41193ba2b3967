// How far an implementation's tensor is from the reference's: max abs error and relative L2 error.
#pragma once

#include <flashlab/core/tensor.hpp>

namespace flashlab::cli {

struct ErrorMetrics {
  double max_abs = 0.0;  // max_i |actual_i - expected_i|
  double rel_l2 = 0.0;   // ||actual - expected||_2 / ||expected||_2
};

// Entries where both are the same infinity (the -inf logsumexp of a fully masked row) agree and
// count as zero error; any other non-finite difference makes both metrics inf, and a NaN in
// `actual` makes them NaN, so neither can pass a tolerance. When ||expected|| = 0 the relative
// error is 0 if `actual` equals it and inf otherwise. Throws flashlab::Error if the dims differ.
ErrorMetrics error_metrics(const Tensor<double>& actual, const Tensor<double>& expected);

}  // namespace flashlab::cli
