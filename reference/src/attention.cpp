// Standard attention in double with Eigen, one (batch, head) slice at a time: FA1 Alg. 0
// (forward, S and P materialized) and FA1 Alg. 3 (backward), plus mask and dropout (FA1 Alg. 2 /
// FA1 Alg. 4).
#include <flashlab/reference/attention.hpp>

#include <Eigen/Dense>
#include <cmath>
#include <limits>

namespace flashlab::reference {
namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const Matrix>;
using Map = Eigen::Map<Matrix>;
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

void require_finite(const Tensor<double>& t, const char* name) {
  for (double x : t.data)
    require(std::isfinite(x), std::string(name) + " contains NaN or Inf; inputs must be finite");
}

void validate_inputs(const AttentionShape& shape, const AttentionOptions& options,
                     const Tensor<double>& Q, const Tensor<double>& K, const Tensor<double>& V) {
  validate(options, shape);
  require_dims(Q, q_dims(shape), "Q");
  require_dims(K, kv_dims(shape), "K");
  require_dims(V, kv_dims(shape), "V");
  require_finite(Q, "Q");
  require_finite(K, "K");
  require_finite(V, "V");
}

// Everything the forward of one head produces; the backward reuses it (FA1 Alg. 3 takes P as
// input).
struct HeadForward {
  Matrix P;  // softmax probabilities, before dropout
  Matrix Z;  // dropout multiplier: 1/(1-p) or 0 (all ones without dropout)
  Eigen::VectorXd lse;
};

// Z of FA1 Alg. 4 l. 14 for head (b, h): keep_scale where Philox keeps the element, else 0.
Matrix dropout_matrix(const DropoutParams& dropout, int64_t b, int64_t h, Eigen::Index rows,
                      Eigen::Index cols) {
  Matrix Z = Matrix::Ones(rows, cols);
  if (!dropout.enabled) return Z;
  for (Eigen::Index i = 0; i < rows; ++i)
    for (Eigen::Index j = 0; j < cols; ++j)
      Z(i, j) = dropout_keep(dropout, b, h, i, j) ? dropout.keep_scale : 0.0;
  return Z;
}

HeadForward head_forward(const AttentionParams& params, int64_t b, int64_t h, const ConstMap& Q,
                         const ConstMap& K) {
  const Eigen::Index rows = Q.rows(), cols = K.rows();
  HeadForward f;
  Matrix S = params.scale * (Q * K.transpose());  // FA1 Alg. 0 l. 1 (with tau, FA1 Alg. 2)
  for (Eigen::Index i = 0; i < rows; ++i)
    for (Eigen::Index j = 0; j < cols; ++j) {
      if (!params.mask.allows(i, j)) {
        S(i, j) = kNegInf;
      } else if (!std::isfinite(S(i, j))) {
        // Finite inputs can still overflow tau * q.k; softmax would then silently give NaN.
        throw Error("score tau*q.k overflows double at (batch " + std::to_string(b) + ", head " +
                    std::to_string(h) + ", row " + std::to_string(i) + ", col " +
                    std::to_string(j) + "); scale Q, K or softmax_scale down");
      }
    }

  // FA1 Alg. 0 l. 2, row by row with the max subtracted so |S| ~ 1e4 cannot overflow exp.
  f.P.resize(rows, cols);
  f.lse.resize(rows);
  for (Eigen::Index i = 0; i < rows; ++i) {
    const double m = S.row(i).maxCoeff();
    if (m == kNegInf) {  // every key masked: no softmax exists; output 0, lse -inf
      f.P.row(i).setZero();
      f.lse(i) = kNegInf;
      continue;
    }
    f.P.row(i) = (S.row(i).array() - m).exp().matrix();
    const double l = f.P.row(i).sum();
    f.P.row(i) /= l;
    f.lse(i) = m + std::log(l);
  }

  f.Z = dropout_matrix(params.dropout, b, h, rows, cols);
  return f;
}

}  // namespace

ForwardResult<double> attention_forward(const AttentionShape& shape,
                                        const AttentionOptions& options, const Tensor<double>& Q,
                                        const Tensor<double>& K, const Tensor<double>& V) {
  validate_inputs(shape, options, Q, K, V);
  const AttentionParams params = make_params(options, shape);
  ForwardResult<double> out{Tensor<double>(q_dims(shape)), Tensor<double>(lse_dims(shape))};
  const auto sq = shape.seq_q, sk = shape.seq_k, d = shape.head_dim;
  for (int64_t b = 0; b < shape.batch; ++b) {
    for (int64_t h = 0; h < shape.heads; ++h) {
      const ConstMap Qh(Q.ptr() + shape.offset(b, h, 0, sq), sq, d);
      const ConstMap Kh(K.ptr() + shape.offset(b, h, 0, sk), sk, d);
      const ConstMap Vh(V.ptr() + shape.offset(b, h, 0, sk), sk, d);
      const HeadForward f = head_forward(params, b, h, Qh, Kh);
      Map(out.O.ptr() + shape.offset(b, h, 0, sq), sq, d) = f.P.cwiseProduct(f.Z) * Vh;
      Eigen::Map<Eigen::VectorXd>(out.lse.ptr() + (b * shape.heads + h) * sq, sq) = f.lse;
    }
  }
  return out;
}

Gradients<double> attention_backward(const AttentionShape& shape, const AttentionOptions& options,
                                     const Tensor<double>& Q, const Tensor<double>& K,
                                     const Tensor<double>& V, const Tensor<double>& dO) {
  validate_inputs(shape, options, Q, K, V);
  require_dims(dO, q_dims(shape), "dO");
  require_finite(dO, "dO");
  const AttentionParams params = make_params(options, shape);
  Gradients<double> g{Tensor<double>(q_dims(shape)), Tensor<double>(kv_dims(shape)),
                      Tensor<double>(kv_dims(shape))};
  const auto sq = shape.seq_q, sk = shape.seq_k, d = shape.head_dim;
  for (int64_t b = 0; b < shape.batch; ++b) {
    for (int64_t h = 0; h < shape.heads; ++h) {
      const ConstMap Qh(Q.ptr() + shape.offset(b, h, 0, sq), sq, d);
      const ConstMap Kh(K.ptr() + shape.offset(b, h, 0, sk), sk, d);
      const ConstMap Vh(V.ptr() + shape.offset(b, h, 0, sk), sk, d);
      const ConstMap dOh(dO.ptr() + shape.offset(b, h, 0, sq), sq, d);
      const HeadForward f = head_forward(params, b, h, Qh, Kh);
      const Matrix P_dropped = f.P.cwiseProduct(f.Z);
      // FA1 Alg. 3 l. 1: dV = P^T dO (with the dropped P, FA1 Alg. 4 l. 16).
      Map(g.dV.ptr() + shape.offset(b, h, 0, sk), sk, d) = P_dropped.transpose() * dOh;
      // FA1 Alg. 3 l. 2 and FA1 Alg. 4 l. 18: dP = (dO V^T) o Z.
      const Matrix dP = (dOh * Vh.transpose()).cwiseProduct(f.Z);
      // FA1 Alg. 3 l. 3: dS_ij = P_ij (dP_ij - sum_l P_il dP_il), the softmax Jacobian (App. B.2).
      const Eigen::VectorXd D = f.P.cwiseProduct(dP).rowwise().sum();
      const Matrix dS = f.P.cwiseProduct(dP.colwise() - D);
      // FA1 Alg. 3 l. 4–5, with the chain rule through S = tau Q K^T.
      Map(g.dQ.ptr() + shape.offset(b, h, 0, sq), sq, d) = params.scale * (dS * Kh);
      Map(g.dK.ptr() + shape.offset(b, h, 0, sk), sk, d) = params.scale * (dS.transpose() * Qh);
    }
  }
  return g;
}

Tensor<double> dropout_multiplier(const AttentionShape& shape, const AttentionOptions& options,
                                  int64_t batch, int64_t head) {
  const AttentionParams params = make_params(options, shape);
  require(batch >= 0 && batch < shape.batch && head >= 0 && head < shape.heads,
          "dropout_multiplier: (batch, head) = (" + std::to_string(batch) + ", " +
              std::to_string(head) + ") is outside shape " + to_string(shape));
  Tensor<double> Z({shape.seq_q, shape.seq_k});
  Map(Z.ptr(), shape.seq_q, shape.seq_k) =
      dropout_matrix(params.dropout, batch, head, shape.seq_q, shape.seq_k);
  return Z;
}

}  // namespace flashlab::reference
