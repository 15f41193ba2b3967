// The reference forward (FA1 Alg. 0, with the scale, mask and dropout of FA1 Alg. 2 and the block
// mask of FA1 Alg. 5) against a plain triple loop, closed forms, extreme logits and bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <flashlab/core/named_block_mask.hpp>
#include <flashlab/reference/attention.hpp>
#include <flashlab/test/random.hpp>

#include "fully_masked_rows.hpp"

using namespace flashlab;
using flashlab::test::random_int;
using flashlab::test::random_tensor;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Element (b, h, row, col) of a [batch, heads, seq, head_dim] tensor, indexed from its own dims
// (not through AttentionShape::offset, so the test does not share the code under test).
double& at(Tensor<double>& t, int64_t b, int64_t h, int64_t row, int64_t col) {
  return t.data[size_t(((b * t.dims[1] + h) * t.dims[2] + row) * t.dims[3] + col)];
}
double at(const Tensor<double>& t, int64_t b, int64_t h, int64_t row, int64_t col) {
  return t.data[size_t(((b * t.dims[1] + h) * t.dims[2] + row) * t.dims[3] + col)];
}

// Whether score (row, col) survives masking, written from the definitions: top-left causal
// (col <= row) and the block layout of FA1 Alg. 5 (block (row / Br, col / Bc) is 1).
bool visible(const AttentionOptions& options, int64_t row, int64_t col) {
  if (options.causal && col > row) return false;
  if (!options.block_mask) return true;
  const BlockMask& m = *options.block_mask;
  return m.layout[size_t((row / m.block_rows) * m.col_blocks + col / m.block_cols)] == 1;
}

// softmax(mask(tau Q K^T)) of head (b, h) by direct loops with the row max subtracted, and the row
// logsumexp; a row with no visible key gets P = 0 and lse = -inf (flashlab's convention).
struct PlainSoftmax {
  std::vector<double> P;  // seq_q x seq_k, row-major
  std::vector<double> lse;
};

PlainSoftmax plain_softmax(const AttentionShape& shape, const AttentionOptions& options,
                           const Tensor<double>& Q, const Tensor<double>& K, int64_t b, int64_t h) {
  const int64_t sq = shape.seq_q, sk = shape.seq_k, d = shape.head_dim;
  const double tau = options.softmax_scale ? *options.softmax_scale : 1.0 / std::sqrt(double(d));
  PlainSoftmax out{std::vector<double>(size_t(sq * sk), 0.0), std::vector<double>(size_t(sq))};
  std::vector<double> s(static_cast<size_t>(sk));
  for (int64_t i = 0; i < sq; ++i) {
    double m = -kInf;
    for (int64_t j = 0; j < sk; ++j) {
      double dot = 0;
      for (int64_t k = 0; k < d; ++k) dot += at(Q, b, h, i, k) * at(K, b, h, j, k);
      s[size_t(j)] = visible(options, i, j) ? tau * dot : -kInf;
      m = std::max(m, s[size_t(j)]);
    }
    if (m == -kInf) {
      out.lse[size_t(i)] = -kInf;
      continue;
    }
    double l = 0;
    for (int64_t j = 0; j < sk; ++j) l += std::exp(s[size_t(j)] - m);
    for (int64_t j = 0; j < sk; ++j) out.P[size_t(i * sk + j)] = std::exp(s[size_t(j)] - m) / l;
    out.lse[size_t(i)] = m + std::log(l);
  }
  return out;
}

// O = (P o Z) V by loops, Z_ij = 1/(1-p') where flashlab::dropout_keep keeps (i, j), else 0, with
// p' = drop_below / 2^16 the realised drop rate (p rounded to 16 bits).
ForwardResult<double> plain_forward(const AttentionShape& shape, const AttentionOptions& options,
                                    const Tensor<double>& Q, const Tensor<double>& K,
                                    const Tensor<double>& V) {
  const DropoutParams dropout = make_dropout(options.dropout_p, options.seed);
  const double keep_scale = 1.0 / (1.0 - dropout.drop_below / 65536.0);
  ForwardResult<double> out{Tensor<double>(q_dims(shape)), Tensor<double>(lse_dims(shape))};
  for (int64_t b = 0; b < shape.batch; ++b)
    for (int64_t h = 0; h < shape.heads; ++h) {
      const PlainSoftmax sm = plain_softmax(shape, options, Q, K, b, h);
      for (int64_t i = 0; i < shape.seq_q; ++i) {
        out.lse.data[size_t((b * shape.heads + h) * shape.seq_q + i)] = sm.lse[size_t(i)];
        for (int64_t k = 0; k < shape.head_dim; ++k) {
          double o = 0;
          for (int64_t j = 0; j < shape.seq_k; ++j) {
            const double z =
                options.dropout_p == 0.0 || dropout_keep(dropout, b, h, i, j) ? keep_scale : 0.0;
            o += sm.P[size_t(i * shape.seq_k + j)] * z * at(V, b, h, j, k);
          }
          at(out.O, b, h, i, k) = o;
        }
      }
    }
  return out;
}

// max |actual - expected| / (1 + |expected|): relative for large values, absolute (on the O(1)
// scale of the N(0,1) inputs) near zero. Equal infinities (lse = -inf) count as no error; a NaN
// or a mismatched infinity counts as infinite error.
double max_scaled_error(const Tensor<double>& actual, const Tensor<double>& expected) {
  REQUIRE(actual.dims == expected.dims);
  double worst = 0;
  for (size_t n = 0; n < actual.data.size(); ++n) {
    const double a = actual.data[n], e = expected.data[n];
    if (a == e) continue;
    const double err = std::abs(a - e) / (1.0 + std::abs(e));
    worst = std::isnan(err) ? kInf : std::max(worst, err);
  }
  return worst;
}

bool all_finite_or_minus_inf(const Tensor<double>& t) {
  for (double x : t.data)
    if (std::isnan(x) || x == kInf) return false;
  return true;
}

std::string describe(const AttentionShape& shape, const AttentionOptions& options,
                     const std::string& mask) {
  return to_string(shape) + " causal=" + std::to_string(options.causal) +
         " p=" + std::to_string(options.dropout_p) + " mask=" + mask +
         " scale=" + (options.softmax_scale ? std::to_string(*options.softmax_scale) : "default");
}

struct Inputs {
  Tensor<double> Q, K, V;
};
Inputs random_inputs(std::mt19937_64& rng, const AttentionShape& shape, double stddev = 1.0) {
  return {random_tensor(rng, q_dims(shape), stddev), random_tensor(rng, kv_dims(shape), stddev),
          random_tensor(rng, kv_dims(shape))};
}

}  // namespace

// Both sides evaluate the same formulas in double and differ only in summation order (Eigen's
// blocked GEMM and reductions vs. one loop). A score is a d <= 128 term dot product; its rounding
// error is at most ~2 d u sum|tau q_k k_k| <= 2 * 128 * 1.1e-16 * 15 ~ 4e-13 for N(0,1) inputs
// and tau <= 2/sqrt(d). exp turns that absolute score error into the same relative error of the
// weights, and the sums over <= 47 keys add ~47 u. So O and lse agree to well under 1e-12 on the
// O(1) scale of the values, while any formula mistake (scale, mask, dropout) shows as >= 1e-3.
constexpr double kLoopTolerance = 1e-12;

TEST_CASE(
    "reference forward matches a plain loop for odd N, seq_q != seq_k, d in {1..128}, "
    "causal, dropout and block-sparse masks with blocks not dividing N") {
  FLASHLAB_TEST_RNG(rng, "reference forward matches a plain loop");
  const std::vector<std::string> variants = {
      "dense",     "causal",         "dropout",           "causal+dropout",
      "butterfly", "local:1+causal", "random:0.5+dropout"};
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (int64_t d : {1, 16, 63, 64, 128}) {
    for (size_t v = 0; v < variants.size(); ++v) {
      const std::string& variant = variants[v];
      AttentionShape shape;
      shape.batch = random_int(rng, 1, 2);
      shape.heads = random_int(rng, 2, 3);
      shape.seq_q = 2 * random_int(rng, 4, 20) + 1;  // odd, 9..41
      shape.seq_k = v % 3 == 0 ? shape.seq_q : random_int(rng, 3, 47);
      shape.head_dim = d;
      AttentionOptions options;
      if (v % 2 == 1) options.softmax_scale = (0.5 + 1.5 * uniform(rng)) / std::sqrt(double(d));
      options.causal = variant.find("causal") != std::string::npos;
      if (variant.find("dropout") != std::string::npos) {
        options.dropout_p = 0.1 + 0.5 * uniform(rng);
        options.seed = rng();
      }
      std::string mask = "none";
      const auto plus = variant.find('+');
      const std::string pattern = variant.substr(0, plus);
      if (pattern != "dense" && pattern != "causal" && pattern != "dropout") {
        int64_t block = random_int(rng, 2, 7);
        while (shape.seq_q % block == 0 || shape.seq_k % block == 0) ++block;
        options.block_mask = named_block_mask(pattern, shape.seq_q, shape.seq_k, block, rng());
        mask = pattern + " block " + std::to_string(block);
      }
      const std::string what = describe(shape, options, mask);
      CAPTURE(what);
      const Inputs in = random_inputs(rng, shape);
      const auto actual = reference::attention_forward(shape, options, in.Q, in.K, in.V);
      const auto expected = plain_forward(shape, options, in.Q, in.K, in.V);
      CHECK(max_scaled_error(actual.O, expected.O) <= kLoopTolerance);
      CHECK(max_scaled_error(actual.lse, expected.lse) <= kLoopTolerance);
    }
  }
}

// Q = 0 makes every visible score 0, so softmax is uniform over the visible keys: the output row
// is the plain mean of those V rows and lse = log(count). A few roundings of O(1) numbers: 1e-13.
TEST_CASE("Q = 0 gives the mean of V rows: all rows without causal, rows 0..i with causal") {
  FLASHLAB_TEST_RNG(rng, "Q = 0 gives the mean of V rows");
  const AttentionShape shape{2, 2, 9, 6, 5};  // seq_q > seq_k: rows >= 5 see every key
  const Tensor<double> Q(q_dims(shape), 0.0);
  const Tensor<double> K = random_tensor(rng, kv_dims(shape));
  const Tensor<double> V = random_tensor(rng, kv_dims(shape));
  for (bool causal : {false, true}) {
    CAPTURE(causal);
    AttentionOptions options;
    options.causal = causal;
    const auto r = reference::attention_forward(shape, options, Q, K, V);
    Tensor<double> O(q_dims(shape)), lse(lse_dims(shape));
    for (int64_t b = 0; b < shape.batch; ++b)
      for (int64_t h = 0; h < shape.heads; ++h)
        for (int64_t i = 0; i < shape.seq_q; ++i) {
          const int64_t count = causal ? std::min(i + 1, shape.seq_k) : shape.seq_k;
          lse.data[size_t((b * shape.heads + h) * shape.seq_q + i)] = std::log(double(count));
          for (int64_t k = 0; k < shape.head_dim; ++k) {
            double sum = 0;
            for (int64_t j = 0; j < count; ++j) sum += at(V, b, h, j, k);
            at(O, b, h, i, k) = sum / double(count);
          }
        }
    CHECK(max_scaled_error(r.O, O) <= 1e-13);
    CHECK(max_scaled_error(r.lse, lse) <= 1e-13);
  }
}

// Raising q_i . k_j to 60 above every other score of row i leaves the other keys a total weight
// below 47 e^-60 ~ 4e-25, far under double rounding: row i must equal V row j and lse_i = s_ij.
TEST_CASE("one dominant logit makes the output row equal the V row of that key") {
  FLASHLAB_TEST_RNG(rng, "one dominant logit picks one V row");
  const AttentionShape shape{1, 1, 9, 13, 8};
  const double tau = 1.0 / std::sqrt(8.0);
  for (int trial = 0; trial < 5; ++trial) {
    Inputs in = random_inputs(rng, shape);
    const int64_t i = random_int(rng, 0, shape.seq_q - 1), j = random_int(rng, 0, shape.seq_k - 1);
    CAPTURE(i);
    CAPTURE(j);
    auto score = [&](int64_t key) {
      double dot = 0;
      for (int64_t k = 0; k < shape.head_dim; ++k)
        dot += at(in.Q, 0, 0, i, k) * at(in.K, 0, 0, key, k);
      return tau * dot;
    };
    double best_other = -kInf, q_norm2 = 0;
    for (int64_t key = 0; key < shape.seq_k; ++key)
      if (key != j) best_other = std::max(best_other, score(key));
    for (int64_t k = 0; k < shape.head_dim; ++k)
      q_norm2 += at(in.Q, 0, 0, i, k) * at(in.Q, 0, 0, i, k);
    // k_j += beta q_i moves s_ij by tau beta |q_i|^2 and leaves the other scores of row i alone.
    const double beta = (best_other + 60.0 - score(j)) / (tau * q_norm2);
    for (int64_t k = 0; k < shape.head_dim; ++k)
      at(in.K, 0, 0, j, k) += beta * at(in.Q, 0, 0, i, k);
    const double s_ij = score(j);
    REQUIRE(s_ij >= best_other + 59.9);

    const auto r = reference::attention_forward(shape, AttentionOptions{}, in.Q, in.K, in.V);
    for (int64_t k = 0; k < shape.head_dim; ++k)
      CHECK(std::abs(at(r.O, 0, 0, i, k) - at(in.V, 0, 0, j, k)) <=
            1e-13 * (1 + std::abs(at(in.V, 0, 0, j, k))));
    CHECK(std::abs(r.lse.data[size_t(i)] - s_ij) <= 1e-13 * (1 + std::abs(s_ij)));
  }
}

// Scores of exactly +-1e4 built from exactly representable numbers (q = 32 or -32 or 16 in each
// of 4 coordinates, k = 78.125 = 625/8 and 78.09375), scale 1. Without the row max subtracted,
// exp(1e4) overflows and exp(-1e4) underflows to 0/0. With it the answer is a 2-way softmax:
//   row 0: scores 1e4, 1e4-1     -> weights (1, e^-1)/(1+e^-1),    lse = 1e4 + log(1+e^-1)
//   row 1: scores -1e4, -1e4+1   -> weights (e^-1, 1)/(1+e^-1),    lse = -9999 + log(1+e^-1)
//   row 2: scores 5e3, 5e3-0.5   -> weights (1, e^-.5)/(1+e^-.5),  lse = 5000 + log(1+e^-.5)
// Every score is exact, so only a few roundings of O(1) numbers remain: 1e-14 on the 1+|x| scale.
TEST_CASE("logits of magnitude 1e4 give finite, exact two-key softmax results") {
  FLASHLAB_TEST_RNG(rng, "logits of magnitude 1e4");
  const AttentionShape shape{1, 1, 3, 2, 4};
  Tensor<double> Q(q_dims(shape)), K(kv_dims(shape));
  const Tensor<double> V = random_tensor(rng, kv_dims(shape));
  const double q_row[3] = {32.0, -32.0, 16.0};
  for (int64_t k = 0; k < 4; ++k) {
    for (int64_t i = 0; i < 3; ++i) at(Q, 0, 0, i, k) = q_row[i];
    at(K, 0, 0, 0, k) = 78.125;
    at(K, 0, 0, 1, k) = k == 3 ? 78.09375 : 78.125;
  }
  AttentionOptions options;
  options.softmax_scale = 1.0;
  const auto r = reference::attention_forward(shape, options, Q, K, V);

  const double e1 = std::exp(-1.0), e_half = std::exp(-0.5);
  const double w[3][2] = {{1 / (1 + e1), e1 / (1 + e1)},
                          {e1 / (1 + e1), 1 / (1 + e1)},
                          {1 / (1 + e_half), e_half / (1 + e_half)}};
  const double lse[3] = {1e4 + std::log1p(e1), -9999.0 + std::log1p(e1), 5e3 + std::log1p(e_half)};
  for (int64_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(std::abs(r.lse.data[size_t(i)] - lse[i]) <= 1e-14 * (1 + std::abs(lse[i])));
    for (int64_t k = 0; k < 4; ++k) {
      const double expected = w[i][0] * at(V, 0, 0, 0, k) + w[i][1] * at(V, 0, 0, 1, k);
      CHECK(std::isfinite(at(r.O, 0, 0, i, k)));
      CHECK(std::abs(at(r.O, 0, 0, i, k) - expected) <= 1e-14 * (1 + std::abs(expected)));
    }
  }
}

// Random Q, K with entries ~100 give scores ~1e4. Each score then carries up to
// ~2 d u sum|tau q k| ~ 2 * 16 * 1.1e-16 * 2.6e4 ~ 1e-10 of absolute rounding difference between
// the two summation orders, which exp passes on as relative error of the weights: allow 1e-9.
TEST_CASE("random logits of magnitude 1e4 stay finite and match the plain loop") {
  FLASHLAB_TEST_RNG(rng, "random logits of magnitude 1e4");
  const AttentionShape shape{1, 2, 15, 21, 16};
  const Inputs in = random_inputs(rng, shape, 100.0);
  for (bool causal : {false, true}) {
    CAPTURE(causal);
    AttentionOptions options;
    options.causal = causal;
    const auto r = reference::attention_forward(shape, options, in.Q, in.K, in.V);
    const auto expected = plain_forward(shape, options, in.Q, in.K, in.V);
    CHECK(all_finite_or_minus_inf(r.O));
    CHECK(all_finite_or_minus_inf(r.lse));
    CHECK(max_scaled_error(r.O, expected.O) <= 1e-9);
    CHECK(max_scaled_error(r.lse, expected.lse) <= 1e-9);
  }
}

// A query row with no visible key has no softmax. flashlab's convention: O row = 0, lse = -inf.
// The masks that empty rows: fully_masked_rows.hpp.
TEST_CASE("a query row whose every key is masked gives O = 0 and lse = -inf, never NaN") {
  FLASHLAB_TEST_RNG(rng, "fully masked rows");
  const AttentionShape shape{1, 2, 10, 13, 6};
  for (const test::FullyMaskedRows& c : test::fully_masked_row_cases()) {
    CAPTURE(c.name);
    const AttentionOptions options = c.options(rng());
    const Inputs in = random_inputs(rng, shape);
    const auto r = reference::attention_forward(shape, options, in.Q, in.K, in.V);
    CHECK(all_finite_or_minus_inf(r.O));
    CHECK(all_finite_or_minus_inf(r.lse));
    for (int64_t h = 0; h < shape.heads; ++h)
      for (int64_t i = 0; i < shape.seq_q; ++i) {
        const bool empty = i >= c.first_empty && i <= c.last_empty;
        CAPTURE(i);
        CHECK((r.lse.data[size_t(h * shape.seq_q + i)] == -kInf) == empty);
        if (empty)
          for (int64_t k = 0; k < shape.head_dim; ++k) CHECK(at(r.O, 0, h, i, k) == 0.0);
      }
    const auto expected = plain_forward(shape, options, in.Q, in.K, in.V);
    CHECK(max_scaled_error(r.O, expected.O) <= kLoopTolerance);
    CHECK(max_scaled_error(r.lse, expected.lse) <= kLoopTolerance);
  }
}

// dropout_multiplier is the Z of FA1 Alg. 4 l. 14; it must be exactly 1/(1-p) where dropout_keep
// keeps an element and 0 elsewhere (p = 0.25 is a multiple of 2^-16, so the realised rate is p
// and 1/(1-p) = 4/3 correctly rounded either way). Then the
// output must be (P o Z) V with P = softmax of the *undropped* scores, and lse must not depend on
// dropout at all (FA1 Alg. 2 accumulates l from the undropped P~).
TEST_CASE("dropout_multiplier agrees with dropout_keep and the output equals (P o Z) V") {
  FLASHLAB_TEST_RNG(rng, "dropout multiplier and (P o Z) V");
  const AttentionShape shape{2, 2, 64, 61, 8};  // seq_k = 61: the last Philox group is partial
  AttentionOptions options;
  options.dropout_p = 0.25;
  options.seed = rng();
  options.causal = true;
  const DropoutParams dropout = make_dropout(options.dropout_p, options.seed);
  const double keep_scale = 1.0 / (1.0 - options.dropout_p);
  const Inputs in = random_inputs(rng, shape);
  const auto r = reference::attention_forward(shape, options, in.Q, in.K, in.V);

  Tensor<double> O(q_dims(shape));
  int64_t dropped = 0, total = 0, mismatches = 0;
  for (int64_t b = 0; b < shape.batch; ++b)
    for (int64_t h = 0; h < shape.heads; ++h) {
      const Tensor<double> Z = reference::dropout_multiplier(shape, options, b, h);
      REQUIRE(Z.dims == std::vector<int64_t>{shape.seq_q, shape.seq_k});
      for (int64_t i = 0; i < shape.seq_q; ++i)
        for (int64_t j = 0; j < shape.seq_k; ++j) {
          const double z = Z.data[size_t(i * shape.seq_k + j)];
          mismatches += z != (dropout_keep(dropout, b, h, i, j) ? keep_scale : 0.0);
          dropped += z == 0.0;
          ++total;
        }
      const PlainSoftmax sm = plain_softmax(shape, options, in.Q, in.K, b, h);
      for (int64_t i = 0; i < shape.seq_q; ++i)
        for (int64_t k = 0; k < shape.head_dim; ++k) {
          double o = 0;
          for (int64_t j = 0; j < shape.seq_k; ++j)
            o += sm.P[size_t(i * shape.seq_k + j)] * Z.data[size_t(i * shape.seq_k + j)] *
                 at(in.V, b, h, j, k);
          at(O, b, h, i, k) = o;
        }
    }
  CHECK(mismatches == 0);
  // Dropped fraction ~ Binomial(15616, 0.25) / n: standard deviation 0.0035, so 0.02 is ~6 sigma.
  CHECK(std::abs(double(dropped) / double(total) - options.dropout_p) < 0.02);
  CHECK(max_scaled_error(r.O, O) <= kLoopTolerance);

  AttentionOptions no_dropout = options;
  no_dropout.dropout_p = 0.0;
  const auto undropped = reference::attention_forward(shape, no_dropout, in.Q, in.K, in.V);
  CHECK(undropped.lse.data == r.lse.data);
  CHECK(max_scaled_error(r.O, undropped.O) > 1e-3);  // dropout really changed the output
  // Different heads draw different masks (the Philox counter includes the head index).
  CHECK(reference::dropout_multiplier(shape, options, 0, 0).data !=
        reference::dropout_multiplier(shape, options, 0, 1).data);
}

TEST_CASE("bad input is refused with a flashlab::Error that names the problem") {
  FLASHLAB_TEST_RNG(rng, "bad input to the reference forward");
  const AttentionShape shape{1, 2, 5, 7, 3};
  const Inputs in = random_inputs(rng, shape);
  const AttentionOptions options;
  using doctest::Contains;
  using reference::attention_forward;

  SUBCASE("wrong tensor dimensions name the tensor and both shapes") {
    const Tensor<double> Q_bad = random_tensor(rng, {1, 2, 5, 4});
    const Tensor<double> K_bad = random_tensor(rng, {1, 2, 6, 3});
    const Tensor<double> V_bad = random_tensor(rng, {2, 7, 3});
    CHECK_THROWS_WITH_AS(attention_forward(shape, options, Q_bad, in.K, in.V),
                         Contains("Q has shape [1, 2, 5, 4], expected [1, 2, 5, 3]"), Error);
    CHECK_THROWS_WITH_AS(attention_forward(shape, options, in.Q, K_bad, in.V),
                         Contains("K has shape [1, 2, 6, 3], expected [1, 2, 7, 3]"), Error);
    CHECK_THROWS_WITH_AS(attention_forward(shape, options, in.Q, in.K, V_bad),
                         Contains("V has shape [2, 7, 3], expected [1, 2, 7, 3]"), Error);
    // Right dims, wrong element count (a hand-built tensor).
    Tensor<double> V_short = in.V;
    V_short.data.pop_back();
    CHECK_THROWS_WITH_AS(attention_forward(shape, options, in.Q, in.K, V_short),
                         Contains("V holds 41 elements, its shape needs 42"), Error);
  }
  SUBCASE("NaN or Inf in any input names the tensor") {
    const char* names[] = {"Q", "K", "V"};
    for (int which = 0; which < 3; ++which)
      for (double bad : {std::nan(""), kInf, -kInf}) {
        Inputs copy = in;
        Tensor<double>* t[] = {&copy.Q, &copy.K, &copy.V};
        t[which]->data[size_t(random_int(rng, 0, t[which]->size() - 1))] = bad;
        const std::string expected = std::string(names[which]) + " contains NaN or Inf";
        CHECK_THROWS_WITH_AS(attention_forward(shape, options, copy.Q, copy.K, copy.V),
                             Contains(expected.c_str()), Error);
      }
  }
  SUBCASE("an empty sequence (seq 0) is refused, naming the dimension") {
    const AttentionShape no_queries{1, 2, 0, 7, 3}, no_keys{1, 2, 5, 0, 3};
    const Tensor<double> Q0(q_dims(no_queries)), K0(kv_dims(no_keys));
    CHECK_THROWS_WITH_AS(attention_forward(no_queries, options, Q0, in.K, in.V),
                         Contains("seq_q must be between 1 and 2^30, got 0"), Error);
    CHECK_THROWS_WITH_AS(attention_forward(no_keys, options, in.Q, K0, K0),
                         Contains("seq_k must be between 1 and 2^30, got 0"), Error);
  }
  SUBCASE("finite inputs whose scores overflow double are refused, not turned into NaN") {
    Inputs big = in;
    for (double& x : big.Q.data) x = x < 0 ? -1e200 : 1e200;
    for (double& x : big.K.data) x = x < 0 ? -1e200 : 1e200;
    CHECK_THROWS_WITH_AS(attention_forward(shape, options, big.Q, big.K, big.V),
                         Contains("overflows double"), Error);
  }
  SUBCASE("bad options name the option and the accepted range") {
    AttentionOptions o;
    o.dropout_p = 1.0;
    CHECK_THROWS_WITH_AS(attention_forward(shape, o, in.Q, in.K, in.V),
                         Contains("dropout probability must be in [0, 1), got 1"), Error);
    o = AttentionOptions{};
    o.block_mask = butterfly_mask(5, 5, 2);  // covers seq_k = 5, not 7
    CHECK_THROWS_WITH_AS(attention_forward(shape, o, in.Q, in.K, in.V),
                         Contains("does not cover seq_q=5, seq_k=7"), Error);
    CHECK_THROWS_WITH_AS(reference::dropout_multiplier(shape, options, 0, 2),
                         Contains("(batch, head) = (0, 2) is outside shape"), Error);
  }
}
