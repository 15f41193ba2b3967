// The asymptotics of the paper hold in the counts: standard attention moves Theta(Nd + N^2)
// (Theorem 2, Theorem 5), FlashAttention Theta(N^2 d^2 / M), doubling M about halves its
// repeated Q/O traffic, and block-sparse traffic scales with the density (Proposition 4).
#include <doctest/doctest.h>

#include <algorithm>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/simulator/simulate.hpp>

namespace flashlab::simulator {
namespace {

IoStats count(Algorithm a, int64_t N, int64_t d, int64_t M_bytes, bool backward = false) {
  SimConfig c;
  c.algorithm = a;
  c.shape = {1, 1, N, N, d};
  c.sram_bytes = M_bytes;
  c.counting_only = true;
  return backward ? simulate_backward(c, nullptr, nullptr, nullptr, nullptr).stats
                  : simulate_forward(c, nullptr, nullptr, nullptr).stats;
}

// Over a grid of (N, d, M) with d <= M <= N d (Theorem 2's range), HBM elements divided by the
// Theta expression stay within a constant factor: max/min of the ratio is bounded.
template <typename Theta>
double spread(Algorithm a, bool backward, Theta theta) {
  double lo = 1e300, hi = 0;
  for (int64_t N : {1024, 2048, 4096, 8192})
    for (int64_t d : {32, 64, 128})
      for (int64_t kib : {64, 128, 256}) {
        const double M = double(kib * 1024 / 2);  // fp16 elements
        const double ratio = double(count(a, N, d, kib * 1024, backward).total_elements()) /
                             theta(double(N), double(d), M);
        lo = std::min(lo, ratio);
        hi = std::max(hi, ratio);
      }
  return hi / lo;
}

TEST_CASE("standard attention moves Theta(N d + N^2) elements, forward and backward") {
  auto theta = [](double N, double d, double) { return N * d + N * N; };
  // The products re-read a Bc x d operand once per Br rows (N^2 d / Br), which is O(N^2)
  // because Br grows with M / d; the ratio stays within a small factor.
  CHECK(spread(Algorithm::Standard, false, theta) < 2.5);
  CHECK(spread(Algorithm::Standard, true, theta) < 2.5);
  // Doubling N multiplies the traffic by ~4.
  const double r = double(count(Algorithm::Standard, 8192, 64, 100 * 1024).total_bytes()) /
                   double(count(Algorithm::Standard, 4096, 64, 100 * 1024).total_bytes());
  CHECK(r == doctest::Approx(4.0).epsilon(0.02));
}

TEST_CASE("flashattention moves Theta(N^2 d^2 / M) elements, forward and backward") {
  auto theta = [](double N, double d, double M) { return N * N * d * d / M; };
  CHECK(spread(Algorithm::Flash, false, theta) < 3.0);
  CHECK(spread(Algorithm::Flash, true, theta) < 3.0);  // Theorem 5
  // Versus d: fixed N and M, doubling d multiplies the traffic by ~4 (T_c doubles, so does the
  // size of each pass over Q and O).
  const double r = double(count(Algorithm::Flash, 8192, 128, 192 * 1024).total_bytes()) /
                   double(count(Algorithm::Flash, 8192, 64, 192 * 1024).total_bytes());
  CHECK(r == doctest::Approx(4.0).epsilon(0.2));
}

TEST_CASE("doubling the SRAM roughly halves flash's repeated Q and O traffic") {
  for (int64_t d : {64, 128}) {
    for (int64_t kib : {48, 96, 192}) {
      const IoStats a = count(Algorithm::Flash, 16384, d, kib * 1024);
      const IoStats b = count(Algorithm::Flash, 16384, d, 2 * kib * 1024);
      const double q = double(a[TensorId::Q].bytes_read) / double(b[TensorId::Q].bytes_read);
      const double o = double(a[TensorId::O].bytes_written) / double(b[TensorId::O].bytes_written);
      CAPTURE(d);
      CAPTURE(kib);
      // Not exactly 2: T_c = ceil(N / B_c), and the rule's B_c is shrunk to fit (tiling_fit.hpp).
      CHECK(q > 1.75);
      CHECK(q < 2.4);
      CHECK(o == doctest::Approx(q).epsilon(0.05));
      // K and V are read once whatever M is.
      CHECK(a[TensorId::K].bytes_read == b[TensorId::K].bytes_read);
    }
  }
}

TEST_CASE("flashattention beats standard attention in bytes when d^2 is well below M") {
  for (int64_t N : {1024, 2048, 4096, 8192}) {
    for (bool backward : {false, true}) {
      const IoStats s = count(Algorithm::Standard, N, 64, 100 * 1024, backward);
      const IoStats f = count(Algorithm::Flash, N, 64, 100 * 1024, backward);
      CAPTURE(N);
      CAPTURE(backward);
      CHECK(f.total_bytes() * 2 < s.total_bytes());
      CHECK(f.matmul_flops == (backward ? 10 : 4) * N * N * 64);
      CHECK(s.matmul_flops == (backward ? 8 : 4) * N * N * 64);  // recomputation costs FLOPs
    }
  }
}

TEST_CASE("with square tiles the FA2 loop order moves fewer bytes than FA1's") {
  // FA1 re-reads Q and O and rewrites O, l, m once per K/V block: ~T_c N (3d + 4).
  // FA2 re-reads K and V once per Q block: ~2 T_r N d. With B_r = B_c, FA2 wins by ~1.5x.
  for (int64_t B : {64, 128}) {
    SimConfig c;
    c.shape = {1, 1, 4096, 4096, 64};
    c.tiles = TileSizes{B, B};
    c.counting_only = true;
    const int64_t fa1 = simulate_forward(c, nullptr, nullptr, nullptr).stats.total_bytes();
    c.algorithm = Algorithm::Flash2;
    const int64_t fa2 = simulate_forward(c, nullptr, nullptr, nullptr).stats.total_bytes();
    CHECK(double(fa1) / double(fa2) == doctest::Approx(1.5).epsilon(0.1));
  }
}

TEST_CASE("block-sparse flash traffic scales with the density of the mask (Prop. 4)") {
  const int64_t N = 8192, d = 64, B = 128;
  SimConfig c;
  c.shape = {1, 1, N, N, d};
  c.tiles = TileSizes{B, B};
  c.counting_only = true;
  const IoStats dense = simulate_forward(c, nullptr, nullptr, nullptr).stats;
  // The Nd part every run pays: K, V read once; O, l, m initialized.
  const double fixed = 2.0 * (2 * N * d + N * d + 2 * N);
  for (double s : {0.5, 0.25, 0.125}) {
    c.options.block_mask = random_mask(N, N, B, s, 7);
    const double density = c.options.block_mask->density();
    const IoStats sparse = simulate_forward(c, nullptr, nullptr, nullptr).stats;
    CAPTURE(s);
    CHECK(density == doctest::Approx(s).epsilon(0.1));
    // The repeated traffic is exactly the dense one times the fraction of blocks kept.
    CHECK((double(sparse.total_bytes()) - fixed) ==
          doctest::Approx(density * (double(dense.total_bytes()) - fixed)).epsilon(1e-9));
    CHECK(double(sparse.matmul_flops) == doctest::Approx(density * double(dense.matmul_flops)));
  }
}

}  // namespace
}  // namespace flashlab::simulator
