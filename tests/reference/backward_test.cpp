// The reference backward (FA1 Alg. 3, with the mask and dropout passes of FA1 Alg. 4) against
// central finite differences of the reference forward, whose own correctness forward_test.cpp
// establishes against a plain loop. Loss L = sum(O o G), so dL/dO = G is the dO of the backward.
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

struct Problem {
  AttentionShape shape;
  AttentionOptions options;
  Tensor<double> Q, K, V, G;  // G = dO
};

double loss(const Problem& p, const Tensor<double>& Q, const Tensor<double>& K,
            const Tensor<double>& V) {
  const auto r = reference::attention_forward(p.shape, p.options, Q, K, V);
  double L = 0;
  for (size_t n = 0; n < r.O.data.size(); ++n) L += r.O.data[n] * p.G.data[n];
  return L;
}

// Central differences, step h = 1e-5 max(1, |x|). For N(0,1) inputs and these small shapes
// |L| <~ sum|O||G| ~ 1e2, so rounding in L is ~1e2 * 10 u ~ 1e-13 and contributes ~1e-13 / h =
// 1e-8; truncation is h^2/6 |L'''| ~ 1e-10 * O(10). The difference to the analytic gradient is
// thus ~1e-8 on the 1 + |g| scale; kFdTolerance = 1e-6 leaves 100x margin, while any real error
// (a missing tau, Z or D term, a wrong mask) changes gradients by O(0.1).
constexpr double kFdStep = 1e-5;
constexpr double kFdTolerance = 1e-6;

struct FdReport {
  double worst = 0;    // max |fd - analytic| / (1 + |analytic|)
  double largest = 0;  // max |analytic|: shows the check is not comparing zeros
  std::string where;
  int64_t compared = 0;
};

// Compares `analytic` = dL/d`which` with central differences on `count` elements chosen at random
// (all elements when count >= size).
void compare_with_fd(const Problem& p, char which, const Tensor<double>& analytic, int64_t count,
                     std::mt19937_64& rng, FdReport& report) {
  Tensor<double> Q = p.Q, K = p.K, V = p.V;
  Tensor<double>& x = which == 'Q' ? Q : which == 'K' ? K : V;
  REQUIRE(analytic.dims == x.dims);
  const int64_t size = x.size();
  for (int64_t c = 0; c < std::min(count, size); ++c) {
    const size_t n = size_t(count >= size ? c : random_int(rng, 0, size - 1));
    const double x0 = x.data[n], h = kFdStep * std::max(1.0, std::abs(x0));
    const double up = x0 + h, down = x0 - h;  // the steps actually taken, after rounding
    x.data[n] = up;
    const double L_up = loss(p, Q, K, V);
    x.data[n] = down;
    const double L_down = loss(p, Q, K, V);
    x.data[n] = x0;
    const double fd = (L_up - L_down) / (up - down);
    const double g = analytic.data[n];
    const double err = std::abs(fd - g) / (1.0 + std::abs(g));
    report.largest = std::max(report.largest, std::abs(g));
    ++report.compared;
    if (!(err <= report.worst)) {  // also records a NaN
      report.worst = std::isnan(err) ? std::numeric_limits<double>::infinity() : err;
      report.where = std::string("d") + which + "[" + std::to_string(n) + "]: analytic " +
                     std::to_string(g) + ", finite difference " + std::to_string(fd);
    }
  }
}

// Checks dQ, dK, dV of the reference backward against finite differences of the forward.
void check_gradients(const Problem& p, std::mt19937_64& rng, int64_t per_tensor = 1 << 30) {
  const auto g = reference::attention_backward(p.shape, p.options, p.Q, p.K, p.V, p.G);
  FdReport report;
  compare_with_fd(p, 'Q', g.dQ, per_tensor, rng, report);
  compare_with_fd(p, 'K', g.dK, per_tensor, rng, report);
  compare_with_fd(p, 'V', g.dV, per_tensor, rng, report);
  CAPTURE(report.where);
  CAPTURE(report.compared);
  CHECK(report.worst <= kFdTolerance);
  CHECK(report.largest > 1e-2);
}

Problem random_problem(std::mt19937_64& rng, const AttentionShape& shape) {
  return {shape,
          AttentionOptions{},
          random_tensor(rng, q_dims(shape)),
          random_tensor(rng, kv_dims(shape)),
          random_tensor(rng, kv_dims(shape)),
          random_tensor(rng, q_dims(shape))};
}

// A small random shape: seq 5..13 (seq_q != seq_k most of the time), d 3..8, batch/heads 1..2.
AttentionShape small_shape(std::mt19937_64& rng) {
  return {random_int(rng, 1, 2), random_int(rng, 1, 2), random_int(rng, 5, 13),
          random_int(rng, 5, 13), random_int(rng, 3, 8)};
}

}  // namespace

TEST_CASE(
    "reference backward matches finite differences of sum(O o dO), dense and causal, "
    "seq_q != seq_k, default and explicit scale") {
  FLASHLAB_TEST_RNG(rng, "backward vs finite differences, dense and causal");
  for (int trial = 0; trial < 4; ++trial) {
    Problem p = random_problem(rng, small_shape(rng));
    p.options.causal = trial % 2 == 1;
    if (trial >= 2) p.options.softmax_scale = 0.8;
    const std::string what = to_string(p.shape) + " causal=" + std::to_string(p.options.causal);
    CAPTURE(what);
    check_gradients(p, rng);
  }
}

// The dropout mask is a fixed function of (seed, batch, head, row, col), not of Q, K or V, so L
// stays smooth in the inputs and finite differences apply unchanged.
TEST_CASE("reference backward matches finite differences with dropout, with and without causal") {
  FLASHLAB_TEST_RNG(rng, "backward vs finite differences, dropout");
  for (int trial = 0; trial < 4; ++trial) {
    Problem p = random_problem(rng, small_shape(rng));
    p.options.causal = trial % 2 == 1;
    p.options.dropout_p = trial < 2 ? 0.3 : 0.6;
    p.options.seed = rng();
    const std::string what = to_string(p.shape) + " causal=" + std::to_string(p.options.causal) +
                             " p=" + std::to_string(p.options.dropout_p);
    CAPTURE(what);
    check_gradients(p, rng);
  }
}

TEST_CASE(
    "reference backward matches finite differences with block-sparse masks whose blocks "
    "do not divide N") {
  FLASHLAB_TEST_RNG(rng, "backward vs finite differences, block-sparse");
  const char* patterns[] = {"butterfly", "local:1", "random:0.6", "butterfly"};
  for (int trial = 0; trial < 4; ++trial) {
    AttentionShape shape = small_shape(rng);
    shape.seq_q = 2 * random_int(rng, 3, 6) + 1;  // odd: 7..13
    int64_t block = random_int(rng, 2, 4);
    while (shape.seq_q % block == 0 || shape.seq_k % block == 0) ++block;
    Problem p = random_problem(rng, shape);
    p.options.block_mask =
        named_block_mask(patterns[trial], shape.seq_q, shape.seq_k, block, rng());
    p.options.causal = trial == 1;
    if (trial >= 2) {
      p.options.dropout_p = 0.25;
      p.options.seed = rng();
    }
    const std::string what = to_string(shape) + " " + patterns[trial] + " block " +
                             std::to_string(block) + " causal=" + std::to_string(p.options.causal);
    CAPTURE(what);
    check_gradients(p, rng);
  }
}

TEST_CASE("reference backward matches finite differences on random elements of a larger problem") {
  FLASHLAB_TEST_RNG(rng, "backward vs finite differences, larger problem");
  Problem p = random_problem(rng, AttentionShape{2, 2, 33, 47, 16});
  p.options.causal = true;
  p.options.dropout_p = 0.2;
  p.options.seed = rng();
  p.options.block_mask = local_mask(33, 47, 5, 2);
  check_gradients(p, rng, 40);
}

// A row with no visible key has O = 0 whatever Q, K, V are, so its dQ must be exactly 0, and its
// dO must not reach dK or dV: they are sums of P_ij (...) terms with P_ij = 0 for the row, which
// add exact zeros, so changing that dO leaves them bitwise unchanged. Finite differences confirm
// the other gradients.
TEST_CASE("a fully masked query row gets dQ = 0, finite gradients, and its dO reaches nothing") {
  FLASHLAB_TEST_RNG(rng, "backward of fully masked rows");
  const AttentionShape shape{1, 2, 10, 13, 5};
  for (const test::FullyMaskedRows& c : test::fully_masked_row_cases()) {
    CAPTURE(c.name);
    Problem p = random_problem(rng, shape);
    p.options = c.options(rng());
    const auto g = reference::attention_backward(shape, p.options, p.Q, p.K, p.V, p.G);
    for (const Tensor<double>* t : {&g.dQ, &g.dK, &g.dV})
      for (double x : t->data) REQUIRE(std::isfinite(x));
    Tensor<double> G_changed = p.G;
    for (int64_t h = 0; h < shape.heads; ++h)
      for (int64_t i = c.first_empty; i <= c.last_empty; ++i)
        for (int64_t k = 0; k < shape.head_dim; ++k) {
          const size_t n = size_t(((h * shape.seq_q) + i) * shape.head_dim + k);
          CHECK(g.dQ.data[n] == 0.0);
          G_changed.data[n] += 10.0;
        }
    const auto g2 = reference::attention_backward(shape, p.options, p.Q, p.K, p.V, G_changed);
    CHECK(g2.dK.data == g.dK.data);
    CHECK(g2.dV.data == g.dV.data);
    check_gradients(p, rng);
  }
}

TEST_CASE("reference backward refuses dO of the wrong shape or with NaN/Inf, naming dO") {
  FLASHLAB_TEST_RNG(rng, "bad input to the reference backward");
  const Problem p = random_problem(rng, AttentionShape{2, 1, 6, 5, 4});
  const auto backward = [&p](const Tensor<double>& K, const Tensor<double>& dO) {
    return reference::attention_backward(p.shape, p.options, p.Q, K, p.V, dO);
  };
  CHECK_THROWS_WITH_AS(backward(p.K, random_tensor(rng, {2, 1, 5, 4})),
                       doctest::Contains("dO has shape [2, 1, 5, 4], expected [2, 1, 6, 4]"),
                       Error);
  for (double bad : {std::nan(""), std::numeric_limits<double>::infinity()}) {
    Tensor<double> dO = p.G;
    dO.data[size_t(random_int(rng, 0, dO.size() - 1))] = bad;
    CHECK_THROWS_WITH_AS(backward(p.K, dO), doctest::Contains("dO contains NaN or Inf"), Error);
  }
  // The forward's checks apply too: a bad K is named as such.
  Tensor<double> K_bad = p.K;
  K_bad.data[0] = std::nan("");
  CHECK_THROWS_WITH_AS(backward(K_bad, p.G), doctest::Contains("K contains NaN or Inf"), Error);
}
