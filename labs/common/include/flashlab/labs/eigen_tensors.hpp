// Eigen matrices of the CPU labs (2 and 4) beside the reference's tensors: conversions and the
// float64 score tau q_r . k_c that the graders' ground truth is built from. Header-only: the labs
// that include it link Eigen.
#pragma once

#include <Eigen/Core>
#include <string>
#include <vector>

#include <flashlab/core/tensor.hpp>

namespace flashlab::labs {

// A [1, 1, rows, cols] tensor in float64.
inline Tensor<double> to_tensor(const Eigen::MatrixXf& M) {
  Tensor<double> t({1, 1, M.rows(), M.cols()});
  for (Eigen::Index r = 0; r < M.rows(); ++r)
    for (Eigen::Index c = 0; c < M.cols(); ++c) t.data[size_t(r * M.cols() + c)] = double(M(r, c));
  return t;
}

inline std::vector<float> row_major(const Eigen::MatrixXf& M) {
  std::vector<float> v;
  for (Eigen::Index r = 0; r < M.rows(); ++r)
    for (Eigen::Index c = 0; c < M.cols(); ++c) v.push_back(M(r, c));
  return v;
}

// S_rc = tau q_r . k_c in float64.
inline double score64(const Eigen::MatrixXf& Q, const Eigen::MatrixXf& K, float tau, Eigen::Index r,
                      Eigen::Index c) {
  return double(tau) * Q.row(r).cast<double>().dot(K.row(c).cast<double>());
}

}  // namespace flashlab::labs
