// The online-softmax identity of §3.1: any split of a row, merged in any order, gives softmax.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <flashlab/core/softmax_state.hpp>
#include <flashlab/test/random.hpp>
#include <numeric>

using flashlab::SoftmaxState;

namespace {
// State of one block of scores, computed directly from the definition of m and l.
SoftmaxState<double> block_state(const std::vector<double>& x, size_t begin, size_t end) {
  SoftmaxState<double> s;
  for (size_t i = begin; i < end; ++i) s.m = std::max(s.m, x[i]);
  for (size_t i = begin; i < end; ++i) s.l += std::exp(x[i] - s.m);
  return s;
}
}  // namespace

TEST_CASE("online softmax: any split and any merge order give softmax within 1e-12") {
  FLASHLAB_TEST_RNG(rng, "online softmax merge");
  for (int trial = 0; trial < 200; ++trial) {
    const auto n = size_t(flashlab::test::random_int(rng, 1, 300));
    const double spread = trial % 2 ? 30.0 : 1.0;  // large spreads exercise the max subtraction
    std::normal_distribution<double> normal(0.0, spread);
    std::vector<double> x(n);
    for (double& v : x) v = normal(rng);

    // Independent softmax: two passes over the whole row.
    const double mx = *std::max_element(x.begin(), x.end());
    double sum = 0;
    for (double v : x) sum += std::exp(v - mx);

    // Random cut points, then merge the block states in a random order.
    std::vector<size_t> cuts{0, n};
    const auto pieces = flashlab::test::random_int(rng, 0, int64_t(std::min<size_t>(n - 1, 8)));
    for (int64_t p = 0; p < pieces; ++p)
      cuts.push_back(size_t(flashlab::test::random_int(rng, 1, int64_t(n) - 1)));
    std::sort(cuts.begin(), cuts.end());
    std::vector<SoftmaxState<double>> states;
    for (size_t c = 0; c + 1 < cuts.size(); ++c)
      states.push_back(block_state(x, cuts[c], cuts[c + 1]));
    std::shuffle(states.begin(), states.end(), rng);
    SoftmaxState<double> merged;  // the empty state is the identity of merge
    for (const auto& s : states) merged = flashlab::merge(merged, s);

    REQUIRE(merged.m == mx);
    for (double v : x) {
      const double expected = std::exp(v - mx) / sum;
      const double online = std::exp(v - merged.m) / merged.l;
      CHECK(std::abs(online - expected) <= 1e-12);
    }
    CHECK(flashlab::logsumexp(merged) == doctest::Approx(mx + std::log(sum)).epsilon(1e-14));
  }
}

TEST_CASE("online softmax: empty (fully masked) states merge to the other state, never NaN") {
  const SoftmaxState<double> empty;
  const SoftmaxState<double> s{2.0, 3.0};
  CHECK(flashlab::merge(empty, s).m == 2.0);
  CHECK(flashlab::merge(empty, s).l == 3.0);
  CHECK(flashlab::merge(s, empty).l == 3.0);
  const auto both = flashlab::merge(empty, empty);
  CHECK(both.m == -INFINITY);
  CHECK(both.l == 0.0);
  CHECK(flashlab::logsumexp(both) == -INFINITY);
  CHECK(flashlab::rescale_factor(-double(INFINITY), 1.0) == 0.0);
}

TEST_CASE("online softmax: rescale factor is exp(m_old - m_new) and at most 1") {
  CHECK(flashlab::rescale_factor(1.0, 3.0) == doctest::Approx(std::exp(-2.0)));
  CHECK(flashlab::rescale_factor(3.0, 3.0) == 1.0);
  CHECK(flashlab::rescale_factor(-1e4, 1e4) == 0.0);  // underflows cleanly, no NaN
}
