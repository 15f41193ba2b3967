// Grader of lab 4 (README.md): the student's FA1 Alg. 4 against the float64 reference backward
// (flashlab::reference), per gradient, on one tile, many, ragged and causal tiles; and, through
// the allocation probe (alloc_probe.hpp), that no N_q x N_k matrix is ever allocated.
#include <cmath>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

#include <flashlab/labs/grading.hpp>
#include <flashlab/reference/attention.hpp>
#include <flashlab/simulator/simulate.hpp>

#include "backward.hpp"

namespace flashlab::labs::lab4 {
namespace {
bool g_armed = false;
std::size_t g_largest = 0;
}  // namespace
void note_elements(std::size_t elements) {
  if (g_armed && elements > g_largest) g_largest = elements;
}
}  // namespace flashlab::labs::lab4

// std::vector, new[] and friends allocate through these: the probe sees them too. (Every
// non-aligned operator new and delete is replaced, so that every pair matches, also under ASan.)
void* operator new(std::size_t bytes) {
  flashlab::labs::lab4::note_elements(bytes / sizeof(float));
  if (void* p = std::malloc(bytes == 0 ? 1 : bytes)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t bytes, const std::nothrow_t&) noexcept {
  flashlab::labs::lab4::note_elements(bytes / sizeof(float));
  return std::malloc(bytes == 0 ? 1 : bytes);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void* operator new[](std::size_t bytes) {
  return operator new(bytes);
}
void* operator new[](std::size_t bytes, const std::nothrow_t& t) noexcept {
  return operator new(bytes, t);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab4;
using flashlab::Tensor;

struct Problem {
  Matrix Q, K, V, O, dO;
  Vector l, m;
  BackwardConfig cfg;
  flashlab::Gradients<double> ref;
  std::string describe() const {
    return "N_q=" + std::to_string(Q.rows()) + ", N_k=" + std::to_string(K.rows()) +
           ", d=" + std::to_string(Q.cols()) + ", B_r=" + std::to_string(cfg.Br) +
           ", B_c=" + std::to_string(cfg.Bc) + (cfg.causal ? ", causal" : "");
  }
};

Tensor<double> to_tensor(const Matrix& M) {
  Tensor<double> t({1, 1, M.rows(), M.cols()});
  for (Index r = 0; r < M.rows(); ++r)
    for (Index c = 0; c < M.cols(); ++c) t.data[size_t(r * M.cols() + c)] = double(M(r, c));
  return t;
}

// Random inputs, the forward's O and statistics (float64, rounded to float) and the reference
// gradients.
Problem make_problem(unsigned seed, Index nq, Index nk, Index d, Index Br, Index Bc, bool causal) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto random = [&](Index rows) {
    return Matrix(Matrix::NullaryExpr(rows, d, [&] { return normal(rng); }));
  };
  Problem p{random(nq), random(nk), random(nk), {}, random(nq), {}, {}, {}, {}};
  p.cfg = {Br, Bc, 1.0f / std::sqrt(float(d)), causal};
  const flashlab::AttentionShape shape{1, 1, nq, nk, d};
  flashlab::AttentionOptions opt;
  opt.softmax_scale = p.cfg.scale;
  opt.causal = causal;
  const auto fwd = flashlab::reference::attention_forward(shape, opt, to_tensor(p.Q),
                                                          to_tensor(p.K), to_tensor(p.V));
  p.O = Matrix(nq, d);
  for (Index r = 0; r < nq; ++r)
    for (Index c = 0; c < d; ++c) p.O(r, c) = float(fwd.O.data[size_t(r * d + c)]);
  p.l = Vector(nq);
  p.m = Vector(nq);
  for (Index r = 0; r < nq; ++r) {
    double m = -INFINITY, l = 0;
    for (Index c = 0; c < nk && (!causal || c <= r); ++c)
      m = std::max(m,
                   double(p.cfg.scale) * p.Q.row(r).cast<double>().dot(p.K.row(c).cast<double>()));
    for (Index c = 0; c < nk && (!causal || c <= r); ++c)
      l += std::exp(double(p.cfg.scale) * p.Q.row(r).cast<double>().dot(p.K.row(c).cast<double>()) -
                    m);
    p.m(r) = float(m);
    p.l(r) = float(l);
  }
  p.ref = flashlab::reference::attention_backward(shape, opt, to_tensor(p.Q), to_tensor(p.K),
                                                  to_tensor(p.V), to_tensor(p.dO));
  return p;
}

std::vector<float> row_major(const Matrix& M) {
  std::vector<float> v;
  for (Index r = 0; r < M.rows(); ++r)
    for (Index c = 0; c < M.cols(); ++c) v.push_back(M(r, c));
  return v;
}

// "" when `got` (named dQ, dK or dV) matches `expected`, else where it first differs.
std::string compare(const Problem& p, const char* name, const Tensor<double>& expected,
                    const Matrix& got) {
  const Index rows = expected.dims[2], d = expected.dims[3];
  if (got.rows() != rows || got.cols() != d)
    return std::string(name) + " is " + std::to_string(got.rows()) + " x " +
           std::to_string(got.cols()) + ", expected " + std::to_string(rows) + " x " +
           std::to_string(d);
  const std::vector<float> g = row_major(got);
  const auto k = first_mismatch(expected.data, g, 2e-4, 2e-3);
  if (!k) return "";
  return "with " + p.describe() + ": " + name + "[" + std::to_string(*k / size_t(d)) + "][" +
         std::to_string(*k % size_t(d)) + "] expected " + fmt(expected.data[*k]) + ", got " +
         fmt(g[*k]);
}

// Why dQ or dK is wrong, judged from the other gradients.
std::string hint(const Problem& p, const Gradients& g, const Tensor<double>& expected,
                 const Matrix& got) {
  Tensor<double> unscaled = expected;
  for (double& x : unscaled.data) x /= double(p.cfg.scale);
  if (compare(p, "", unscaled, got).empty())
    return ". It equals the reference divided by tau: the softmax scale tau is missing. "
           "S = tau Q K^T, so the chain rule gives dQ_i += tau dS_ij K_j (FA1 Alg. 4 l. 21) and "
           "dK_j += tau dS_ij^T Q_i (FA1 Alg. 4 l. 22).";
  if (compare(p, "dV", p.ref.dV, g.dV).empty())
    return ". dV is right, so the recomputed P_ij is right: the error is in dS_ij = P_ij o "
           "(dP_ij - D_i) (FA1 Alg. 4 l. 20) or in FA1 Alg. 4 l. 21–22. D_i = rowsum(dO_i o O_i) "
           "(FA1 Alg. 4 l. 19) "
           "sums over the whole row; rowsum(P_ij o dP_ij) over one tile is only part of it.";
  return ". dV is wrong too, so start there: P_ij = diag(l_i)^-1 exp(S_ij - m_i) (FA1 Alg. 4 l. "
         "13) with "
         "S_ij = tau Q_i K_j^T, and dV_j += P_ij^T dO_i (FA1 Alg. 4 l. 16).";
}

Gradients run(const Problem& p) {
  return flash_backward(p.Q, p.K, p.V, p.O, p.dO, p.l, p.m, p.cfg);
}

void require_grad(const Problem& p, const char* which) {
  const Gradients g = run(p);
  const std::string name = which;
  const Matrix& got = name == "dQ" ? g.dQ : name == "dK" ? g.dK : g.dV;
  const Tensor<double>& expected = name == "dQ" ? p.ref.dQ : name == "dK" ? p.ref.dK : p.ref.dV;
  const std::string why = compare(p, which, expected, got);
  if (why.empty()) return;
  FLASHLAB_LAB_FAIL(why + (name == "dV"
                               ? ". dV_j = sum_i P_ij^T dO_i (FA1 Alg. 4 l. 16) with P_ij = "
                                 "diag(l_i)^-1 exp(S_ij - m_i) recomputed (FA1 Alg. 4 l. 13)."
                               : hint(p, g, expected, got)));
}

}  // namespace

FLASHLAB_LAB_TEST("one tile: dV = P^T dO", 10) {
  require_grad(make_problem(1, 8, 8, 4, 16, 16, false), "dV");
}

FLASHLAB_LAB_TEST("one tile: dQ and dK match the reference", 10) {
  const Problem p = make_problem(1, 8, 8, 4, 16, 16, false);
  require_grad(p, "dQ");
  require_grad(p, "dK");
}

FLASHLAB_LAB_TEST("many tiles: dV matches the reference", 10) {
  require_grad(make_problem(2, 64, 64, 16, 16, 16, false), "dV");
}

FLASHLAB_LAB_TEST("many tiles: dK matches the reference", 10) {
  require_grad(make_problem(2, 64, 64, 16, 16, 16, false), "dK");
}

FLASHLAB_LAB_TEST("many tiles: dQ matches the reference", 15) {
  require_grad(make_problem(2, 64, 64, 16, 16, 16, false), "dQ");
}

FLASHLAB_LAB_TEST("ragged tiles with seq_q != seq_k", 10) {
  const Problem p = make_problem(3, 37, 29, 8, 8, 5, false);
  for (const char* g : {"dV", "dK", "dQ"}) require_grad(p, g);
}

FLASHLAB_LAB_TEST("causal mask in the backward", 15) {
  const Problem p = make_problem(4, 40, 40, 8, 8, 8, true);
  const Gradients g = run(p);
  for (const auto& [name, expected, got] :
       {std::tuple{"dV", &p.ref.dV, &g.dV}, std::tuple{"dK", &p.ref.dK, &g.dK},
        std::tuple{"dQ", &p.ref.dQ, &g.dQ}}) {
    const std::string why = compare(p, name, *expected, *got);
    if (!why.empty())
      FLASHLAB_LAB_FAIL(why +
                        ". Recompute S_ij with the same mask as the forward (score (r, c) "
                        "is -inf when c > r; FA1 Alg. 4 l. 12), so P_ij = 0 there; skip tiles "
                        "entirely above the diagonal.");
  }
}

FLASHLAB_LAB_TEST("no N x N matrix is allocated (N=256)", 15) {
  const Problem p = make_problem(5, 256, 256, 16, 32, 32, false);
  g_armed = true;
  g_largest = 0;
  const Gradients g = run(p);
  g_armed = false;
  for (const auto& [name, expected, got] :
       {std::tuple{"dV", &p.ref.dV, &g.dV}, std::tuple{"dK", &p.ref.dK, &g.dK},
        std::tuple{"dQ", &p.ref.dQ, &g.dQ}})
    if (const std::string why = compare(p, name, *expected, *got); !why.empty())
      FLASHLAB_LAB_FAIL("fix the gradients first (this test needs them right at N = 256): " + why);
  const std::size_t limit = 256 * 256 / 4;  // a quarter of N x N: far above any tile
  if (g_largest >= limit)
    FLASHLAB_LAB_FAIL(
        "your backward allocated " + std::to_string(g_largest) + " floats at once with " +
        p.describe() +
        "; an N_q x N_k matrix of floats is 65536 floats, while every tile is at "
        "most 32 x 32 and every N x d tensor 4096 floats. FA1 Alg. 4 never stores S, "
        "P, dP or dS: recompute each tile P_ij from Q_i, K_j, l_i, m_i (FA1 Alg. 4 l. 13) "
        "and use it at once (FA1 Alg. 4 l. 16–22). That is what keeps the extra memory "
        "O(N) (Theorem 1).");
}

FLASHLAB_LAB_TEST("answers: HBM bytes of the backward", 5) {
  using namespace flashlab::simulator;
  SimConfig c;
  c.shape = {1, 1, 1024, 1024, 64};
  c.tiles = flashlab::TileSizes{64, 64};
  c.counting_only = true;
  const SimBackward flash = simulate_backward(c, nullptr, nullptr, nullptr, nullptr);
  c.algorithm = Algorithm::Standard;
  const SimBackward standard = simulate_backward(c, nullptr, nullptr, nullptr, nullptr);
  const std::string how =
      " Check with simulate_backward in counting-only mode "
      "(docs/simulator.md) or `flashlab compare --backward`.";
  FLASHLAB_LAB_REQUIRE_OK(check_answers({
      {"backward_Q_read_bytes", double(flash.stats[TensorId::Q].bytes_read), 1e-6,
       "Question 1: T_c passes over Q." + how},
      {"backward_dQ_bytes",
       double(flash.stats[TensorId::dQ].bytes_read + flash.stats[TensorId::dQ].bytes_written), 1e-6,
       "Question 2: FA1 Alg. 4 l. 5 initializes dQ, FA1 Alg. 4 l. 10 reads dQ_i, FA1 Alg. 4 l. 21 "
       "writes it." +
           how},
      {"flash_backward_total_bytes", double(flash.stats.total_bytes()), 1e-6,
       "Question 3 (Theorem 5)." + how},
      {"standard_backward_total_bytes", double(standard.stats.total_bytes()), 1e-6,
       "Question 3: FA1 Alg. 3 reads P and writes and reads dP, dS (docs/simulator.md)." + how},
  }));
}
