// Lab 4: the function you implement in backward.cpp (README.md). The grader calls exactly this;
// do not change the signature.
#pragma once

#include <Eigen/Core>

namespace flashlab::labs::lab4 {

using Index = Eigen::Index;
using Matrix = Eigen::MatrixXf;  // one row per sequence position
using Vector = Eigen::VectorXf;

struct BackwardConfig {
  Index Br = 16;        // B_r: rows of a Q / O / dO / dQ block
  Index Bc = 16;        // B_c: rows of a K / V / dK / dV block
  float scale = 1.0f;   // tau: S = tau Q K^T
  bool causal = false;  // top-left causal mask: query row r sees key rows c <= r
};

struct Gradients {
  Matrix dQ;  // N_q x d
  Matrix dK;  // N_k x d
  Matrix dV;  // N_k x d
};

// FA1 Alg. 4 (no dropout): the gradients of O = softmax(mask(tau Q K^T)) V for the upstream
// gradient dO, from what the forward saved: O and the row statistics l, m (l_r = sum_c
// e^{S_rc - m_r}, m_r = max_c S_rc). Q, O, dO are N_q x d; K, V are N_k x d. Recompute each
// tile of P from Q, K, l and m; never store an N_q x N_k matrix.
Gradients flash_backward(const Matrix& Q, const Matrix& K, const Matrix& V, const Matrix& O,
                         const Matrix& dO, const Vector& l, const Vector& m,
                         const BackwardConfig& cfg);

}  // namespace flashlab::labs::lab4
