// Grader of lab 2 (README.md): the tiled forward of FA1 Alg. 1 against the float64
// reference (flashlab::reference), on one tile, many tiles, ragged tiles, rising row maxima and
// causal masks. A wrong result is compared with the usual mistakes to say which one it is.
#include <cmath>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/core/tile_visibility.hpp>
#include <flashlab/core/tiling.hpp>
#include <flashlab/labs/grading.hpp>
#include <flashlab/reference/attention.hpp>

#include "tiled_forward.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab2;
using flashlab::Tensor;

struct Problem {
  Matrix Q, K, V;
  TileConfig cfg;
  std::string describe() const {
    return "N_q=" + std::to_string(Q.rows()) + ", N_k=" + std::to_string(K.rows()) +
           ", d=" + std::to_string(Q.cols()) + ", B_r=" + std::to_string(cfg.Br) +
           ", B_c=" + std::to_string(cfg.Bc) + (cfg.causal ? ", causal" : "");
  }
};

Matrix random_matrix(std::mt19937& rng, Index rows, Index cols) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  return Matrix::NullaryExpr(rows, cols, [&] { return normal(rng); });
}

Problem random_problem(unsigned seed, Index nq, Index nk, Index d, Index Br, Index Bc,
                       bool causal) {
  std::mt19937 rng(seed);
  Problem p{random_matrix(rng, nq, d), random_matrix(rng, nk, d), random_matrix(rng, nk, d), {}};
  p.cfg = {Br, Bc, 1.0f / std::sqrt(float(d)), causal};
  return p;
}

Tensor<double> to_tensor(const Matrix& M) {
  Tensor<double> t({1, 1, M.rows(), M.cols()});
  for (Index r = 0; r < M.rows(); ++r)
    for (Index c = 0; c < M.cols(); ++c) t.data[size_t(r * M.cols() + c)] = double(M(r, c));
  return t;
}

// Ground truth; `allowed` replaces the causal rule by any element mask (for the variants).
flashlab::ForwardResult<double> reference(const Problem& p,
                                          bool (*allowed)(Index, Index) = nullptr) {
  flashlab::AttentionShape shape{1, 1, p.Q.rows(), p.K.rows(), p.Q.cols()};
  flashlab::AttentionOptions opt;
  opt.softmax_scale = p.cfg.scale;
  opt.causal = p.cfg.causal && allowed == nullptr;
  if (allowed != nullptr) {
    std::vector<uint8_t> layout;
    for (Index r = 0; r < p.Q.rows(); ++r)
      for (Index c = 0; c < p.K.rows(); ++c) layout.push_back(allowed(r, c) ? 1 : 0);
    opt.block_mask = flashlab::block_sparse_mask(layout, p.Q.rows(), p.K.rows(), 1, 1);
  }
  return flashlab::reference::attention_forward(shape, opt, to_tensor(p.Q), to_tensor(p.K),
                                                to_tensor(p.V));
}

std::vector<float> row_major(const Matrix& M) {
  std::vector<float> v;
  for (Index r = 0; r < M.rows(); ++r)
    for (Index c = 0; c < M.cols(); ++c) v.push_back(M(r, c));
  return v;
}

// "" when O matches; else the first wrong element with its row of expected and got.
std::string compare_O(const Problem& p, const std::vector<double>& expected, const Matrix& O) {
  if (O.rows() != p.Q.rows() || O.cols() != p.Q.cols())
    return "O is " + std::to_string(O.rows()) + " x " + std::to_string(O.cols()) + ", expected " +
           std::to_string(p.Q.rows()) + " x " + std::to_string(p.Q.cols());
  const std::vector<float> got = row_major(O);
  const auto k = first_mismatch(expected, got, 1e-4, 1e-4);
  if (!k) return "";
  const size_t d = size_t(p.Q.cols()), r = *k / d;
  return "with " + p.describe() + ": O[" + std::to_string(r) + "][" + std::to_string(*k % d) +
         "] expected " + fmt(expected[*k]) + ", got " + fmt(got[*k]) + " (row " +
         std::to_string(r) + " expected " +
         fmt_list(std::span<const double>(expected).subspan(r * d, d), 6) + ", got " +
         fmt_list(std::span<const float>(got).subspan(r * d, d), 6) + ")";
}

std::string check_forward(const Problem& p) {
  const ForwardOutput out = tiled_forward(p.Q, p.K, p.V, p.cfg);
  return compare_O(p, reference(p).O.data, out.O);
}

}  // namespace

FLASHLAB_LAB_TEST("one tile covering the whole problem gives softmax(QK^T)V", 10) {
  FLASHLAB_LAB_REQUIRE_OK(check_forward(random_problem(1, 8, 8, 4, 16, 16, false)));
}

FLASHLAB_LAB_TEST("square tiles that divide N", 10) {
  const std::string why = check_forward(random_problem(2, 64, 64, 16, 16, 16, false));
  if (!why.empty())
    FLASHLAB_LAB_FAIL(why + (check_forward(random_problem(1, 8, 8, 4, 16, 16, false)).empty()
                                 ? ". One tile is right, so the combination of tiles is wrong: "
                                   "FA1 Alg. 1 l. 11–13."
                                 : ". Start with one tile (the first test): FA1 Alg. 1 l. 9–10."));
}

FLASHLAB_LAB_TEST("ragged tiles with seq_q != seq_k", 15) {
  const std::string why = check_forward(random_problem(3, 37, 29, 8, 8, 5, false));
  if (!why.empty())
    FLASHLAB_LAB_FAIL(why +
                      ". T_r = ceil(N_q / B_r), T_c = ceil(N_k / B_c); the last block has "
                      "N - (T - 1) B rows, not B.");
}

FLASHLAB_LAB_TEST("O is rescaled when a later K block raises the row max", 15) {
  // Scores grow with the key index, so every K block raises every row's max. The same keys in
  // reverse order (with their values) give the same attention, the max found in block 1.
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> uni(0.5f, 1.5f), noise(-0.05f, 0.05f);
  const Index n = 48, d = 8;
  Problem rising{Matrix::NullaryExpr(n, d, [&] { return uni(rng); }),
                 Matrix(n, d),
                 random_matrix(rng, n, d),
                 {8, 8, 1.0f, false}};
  for (Index c = 0; c < n; ++c)
    for (Index e = 0; e < d; ++e) rising.K(c, e) = 0.08f * float(c) + noise(rng);
  Problem falling = rising;
  falling.K = rising.K.colwise().reverse();
  falling.V = rising.V.colwise().reverse();
  const std::string why = check_forward(rising);
  if (why.empty()) return;
  FLASHLAB_LAB_FAIL(
      "scores rising with the key index: " + why +
      (check_forward(falling).empty()
           ? ". The same keys in falling order (max in the first block) give the right O, so O_i "
             "was not rescaled by e^{m_i - m_i^new} when a later block raised the row max "
             "(FA1 Alg. 1 l. 12: diag(l_i) e^{m_i - m_i^new} O_i)."
           : ". FA1 Alg. 1 l. 12: O_i <- diag(l_i^new)^-1 (diag(l_i) e^{m_i - m_i^new} O_i + "
             "e^{m~_ij - m_i^new} P~_ij V_j)."));
}

FLASHLAB_LAB_TEST("l and m are the softmax statistics of each row", 10) {
  Problem p = random_problem(5, 40, 40, 8, 8, 8, false);
  p.K += Vector::LinSpaced(40, 0.0f, 3.0f).replicate(1, 8);  // rising maxima
  const ForwardOutput out = tiled_forward(p.Q, p.K, p.V, p.cfg);
  if (out.l.size() != p.Q.rows() || out.m.size() != p.Q.rows())
    FLASHLAB_LAB_FAIL("l and m must have N_q = 40 entries; got " + std::to_string(out.l.size()) +
                      " and " + std::to_string(out.m.size()));
  const Matrix S =
      p.cfg.scale * (p.Q.cast<double>() * p.K.cast<double>().transpose()).cast<float>();
  for (Index r = 0; r < p.Q.rows(); ++r) {
    const double m = S.row(r).cast<double>().maxCoeff();
    const double l = (S.row(r).cast<double>().array() - m).exp().sum();
    if (std::abs(out.m(r) - m) > 1e-4 * (1 + std::abs(m)))
      FLASHLAB_LAB_FAIL("row " + std::to_string(r) + ": m expected max_c S_rc = " + fmt(m) +
                        ", got " + fmt(out.m(r)) +
                        ". m_i^new = max(m_i, m~_ij) (FA1 Alg. 1 l. 11).");
    if (std::abs(out.l(r) - l) > 1e-4 * l) {
      const double ratio = out.l(r) / l;
      FLASHLAB_LAB_FAIL(
          "row " + std::to_string(r) + ": l expected sum_c e^{S_rc - m_r} = " + fmt(l) + ", got " +
          fmt(out.l(r)) + " (" + fmt(ratio) + " times it) while m is right. " +
          (ratio < 1 ? "Too small: the old l_i was multiplied by e^{m_i - m_i^new} more than "
                       "once. "
                     : "Too large: a term was not rescaled to the new max. ") +
          "FA1 Alg. 1 l. 11: l_i^new = e^{m_i - m_i^new} l_i + e^{m~_ij - m_i^new} l~_ij, each "
          "term "
          "rescaled exactly once.");
    }
  }
}

FLASHLAB_LAB_TEST("causal mask is top-left and includes the diagonal", 15) {
  const Problem p = random_problem(6, 32, 32, 8, 8, 8, true);
  const ForwardOutput out = tiled_forward(p.Q, p.K, p.V, p.cfg);
  const std::string why = compare_O(p, reference(p).O.data, out.O);
  if (why.empty()) return;
  std::string hint = ". Row r sees the keys c <= r (top-left, like PyTorch's is_causal).";
  if (compare_O(p, reference(p, [](Index r, Index c) { return c < r; }).O.data, out.O).empty() ||
      !std::isfinite(out.O(0, 0)) || out.O.row(0).isZero())
    hint =
        ". Your result is what masking the diagonal too gives (row 0 then sees no key): the "
        "rule is c <= r, the diagonal included, so row 0 sees key 0 and O_0 = V_0.";
  else if (compare_O(p, reference(p, [](Index r, Index c) { return c <= r + 1; }).O.data, out.O)
               .empty())
    hint = ". Your result is what letting row r see key r + 1 gives: the rule is c <= r.";
  FLASHLAB_LAB_FAIL(why + hint);
}

FLASHLAB_LAB_TEST("causal with seq_q != seq_k and tiles that straddle the diagonal", 10) {
  const std::string why = check_forward(random_problem(7, 20, 33, 8, 6, 7, true));
  if (!why.empty())
    FLASHLAB_LAB_FAIL(why +
                      ". Top-left alignment: row r sees the keys c <= r also when "
                      "N_q != N_k. With B_r != B_c a tile can hold rows whose every score "
                      "is masked: they must add nothing.");
}

FLASHLAB_LAB_TEST("causal tiles above the diagonal give no NaN", 5) {
  const Problem p = random_problem(8, 16, 16, 4, 4, 4, true);
  const ForwardOutput out = tiled_forward(p.Q, p.K, p.V, p.cfg);
  if (!out.O.allFinite())
    FLASHLAB_LAB_FAIL("with " + p.describe() +
                      " O has NaN or inf. A tile with every score "
                      "masked has m~ = -inf, and e^{S - m~} = e^{-inf - (-inf)} = NaN: skip "
                      "tiles entirely above the diagonal (c0 > last row of the tile), and guard "
                      "rows whose scores in the tile are all -inf.");
  FLASHLAB_LAB_REQUIRE_OK(compare_O(p, reference(p).O.data, out.O));
}

FLASHLAB_LAB_TEST("answers: the paper's block sizes for M = 100 KiB", 5) {
  const flashlab::TileSizes t = flashlab::paper_tiling(100 * 1024 / 2, 64);
  const std::string how = "Question 1: M counts elements (100 KiB / 2 bytes), B_c = ceil(M / 4d).";
  FLASHLAB_LAB_REQUIRE_OK(check_answers({
      {"paper_Bc", double(t.block_cols), 0.0, how},
      {"paper_Br", double(t.block_rows), 0.0, how},
      {"paper_Tr", double(flashlab::ceil_div(1024, t.block_rows)), 0.0, how},
      {"paper_Tc", double(flashlab::ceil_div(1024, t.block_cols)), 0.0, how},
  }));
}

FLASHLAB_LAB_TEST("answers: tiles computed by a causal forward", 5) {
  flashlab::MaskParams causal;
  causal.causal = true;
  double on = 0;  // tiles of 64 x 64 over N = 1024 that a causal forward computes
  for (int64_t row0 = 0; row0 < 1024; row0 += 64)
    for (int64_t col0 = 0; col0 < 1024; col0 += 64)
      on += flashlab::tile_visibility(causal, row0, int64_t{64}, col0, int64_t{64}) !=
            flashlab::TileVisibility::None;
  FLASHLAB_LAB_REQUIRE_OK(check_answer(
      "causal_tiles", on, 0.0,
      "Question 2: count the tiles (i, j) of a 16 x 16 grid with at least one score c <= r."));
}
