// Lab 2: the function you implement in tiled_forward.cpp (README.md). The grader calls exactly
// this; do not change the signature.
#pragma once

#include <Eigen/Core>

namespace flashlab::labs::lab2 {

using Index = Eigen::Index;
using Matrix = Eigen::MatrixXf;  // one row per sequence position
using Vector = Eigen::VectorXf;

struct TileConfig {
  Index Br = 16;        // B_r: rows of a Q / O block
  Index Bc = 16;        // B_c: rows of a K / V block (columns of a tile of S)
  float scale = 1.0f;   // tau: S = tau Q K^T
  bool causal = false;  // top-left causal mask: query row r sees key rows c <= r
};

// What FA1 Alg. 1 leaves in HBM: the output and the row statistics l and m.
struct ForwardOutput {
  Matrix O;  // N_q x d
  Vector l;  // N_q: sum over the row of e^{S_rc - m_r}
  Vector m;  // N_q: max over the row of S_rc (masked scores excluded)
};

// FA1 Alg. 1 with FA1 Alg. 2's scale and a causal mask. Q is N_q x d; K and V are N_k x d. The
// last block of rows or columns may be shorter than B_r or B_c.
ForwardOutput tiled_forward(const Matrix& Q, const Matrix& K, const Matrix& V,
                            const TileConfig& cfg);

}  // namespace flashlab::labs::lab2
