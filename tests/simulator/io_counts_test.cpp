// Byte counts equal closed forms derived here by hand from each algorithm's loops (not from the
// simulator's io_formulas), for several N, d, M; FLOPs too; and the SRAM never exceeds M.
#include <doctest/doctest.h>

#include <algorithm>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/simulator/model/io_formulas.hpp>
#include <flashlab/simulator/simulate.hpp>

namespace flashlab::simulator {
namespace {
using T = TensorId;

int64_t cdiv(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

struct Case {
  int64_t seq_q, seq_k, d, sram_kib;
};
// Several N (multiples of the tiles and not), d, M; with seq_q != seq_k.
constexpr Case kCases[] = {{256, 256, 64, 100},  {1000, 1000, 64, 48}, {513, 300, 32, 16},
                           {200, 777, 128, 192}, {2048, 2048, 16, 8},  {99, 99, 1, 1}};

SimConfig counting(Algorithm a, const Case& k, int64_t heads = 3) {
  SimConfig c;
  c.algorithm = a;
  c.shape = {1, heads, k.seq_q, k.seq_k, k.d};
  c.sram_bytes = k.sram_kib * 1024;
  c.counting_only = true;
  return c;
}

TEST_CASE("flash forward bytes equal the closed form of FA1 Alg. 2's loops") {
  for (const Case& k : kCases) {
    const SimConfig c = counting(Algorithm::Flash, k);
    const SimForward f = simulate_forward(c, nullptr, nullptr, nullptr);
    const int64_t Nq = k.seq_q, Nk = k.seq_k, d = k.d, e = 2, H = 3;
    const int64_t Br = f.tiles.block_rows, Bc = f.tiles.block_cols, Tc = cdiv(Nk, Bc);
    CAPTURE(Nq);
    CAPTURE(Nk);
    CAPTURE(d);
    CAPTURE(Br);
    CAPTURE(Bc);
    // FA1 Alg. 2 l. 7: K_j, V_j once. FA1 Alg. 2 l. 9: Q_i, O_i, l_i, m_i once per (i, j): T_c
    // passes. FA1 Alg. 2 l. 3: O, l, m initialized (written once); FA1 Alg. 2 l. 15–16: written
    // once per (i, j).
    CHECK(f.stats[T::K].bytes_read == H * e * Nk * d);
    CHECK(f.stats[T::V].bytes_read == H * e * Nk * d);
    CHECK(f.stats[T::Q].bytes_read == H * e * Tc * Nq * d);
    CHECK(f.stats[T::O].bytes_read == H * e * Tc * Nq * d);
    CHECK(f.stats[T::O].bytes_written == H * e * (Nq * d + Tc * Nq * d));
    CHECK(f.stats[T::l].bytes_read == H * e * Tc * Nq);
    CHECK(f.stats[T::m].bytes_written == H * e * (Nq + Tc * Nq));
    CHECK(f.stats.bytes_read() == H * e * (2 * Nk * d + Tc * (2 * Nq * d + 2 * Nq)));
    CHECK(f.stats.bytes_written() == H * e * (Nq * d + 2 * Nq + Tc * (Nq * d + 2 * Nq)));
    CHECK(f.stats[T::Q].reads == H * Tc * cdiv(Nq, Br));
    // Theorem 1: two products of 2 N_q N_k d FLOPs; exp of every score and 2 per row per step.
    CHECK(f.stats.matmul_flops == H * 4 * Nq * Nk * d);
    CHECK(f.stats.exp_ops == H * (Nq * Nk + 2 * Tc * Nq));
  }
}

TEST_CASE("flash2 forward bytes equal the closed form of FA2's loops") {
  for (const Case& k : kCases) {
    const SimConfig c = counting(Algorithm::Flash2, k);
    const SimForward f = simulate_forward(c, nullptr, nullptr, nullptr);
    const int64_t Nq = k.seq_q, Nk = k.seq_k, d = k.d, e = 2, H = 3;
    const int64_t Tr = cdiv(Nq, f.tiles.block_rows);
    // Q once, K and V once per Q block (T_r passes), O and L written once.
    CHECK(f.stats.bytes_read() == H * e * (Nq * d + 2 * Tr * Nk * d));
    CHECK(f.stats.bytes_written() == H * e * (Nq * d + Nq));
    CHECK(f.stats[T::K].bytes_read == H * e * Tr * Nk * d);
    CHECK(f.stats[T::L].bytes_written == H * e * Nq);
    CHECK(f.stats.matmul_flops == H * 4 * Nq * Nk * d);
  }
}

TEST_CASE("flash backward bytes equal the closed form of FA1 Alg. 4's loops") {
  for (const Case& k : kCases) {
    const SimConfig c = counting(Algorithm::Flash, k);
    const SimBackward b = simulate_backward(c, nullptr, nullptr, nullptr, nullptr);
    const int64_t Nq = k.seq_q, Nk = k.seq_k, d = k.d, e = 2, H = 3;
    const int64_t Tc = cdiv(Nk, b.tiles.block_cols);
    CAPTURE(Nq);
    CAPTURE(Nk);
    CAPTURE(d);
    // FA1 Alg. 4 l. 7: K, V once. FA1 Alg. 4 l. 10: Q, O, dO, dQ, l, m per (i, j).
    // FA1 Alg. 4 l. 5 initializes dQ, dK, dV; FA1 Alg. 4 l. 21 writes dQ_i per (i, j);
    // FA1 Alg. 4 l. 24 writes dK_j, dV_j once.
    CHECK(b.stats[T::dQ].bytes_read == H * e * Tc * Nq * d);
    CHECK(b.stats[T::dQ].bytes_written == H * e * (Nq * d + Tc * Nq * d));
    CHECK(b.stats[T::dK].bytes_written == H * e * 2 * Nk * d);
    CHECK(b.stats.bytes_read() == H * e * (2 * Nk * d + Tc * (4 * Nq * d + 2 * Nq)));
    CHECK(b.stats.bytes_written() == H * e * (Nq * d + 4 * Nk * d + Tc * Nq * d));
    // S, dV, dP, dQ, dK: five products of 2 N_q N_k d.
    CHECK(b.stats.matmul_flops == H * 10 * Nq * Nk * d);
  }
}

TEST_CASE("standard attention bytes equal the closed form of FA1 Alg. 0 and FA1 Alg. 3") {
  for (const Case& k : kCases) {
    const SimConfig c = counting(Algorithm::Standard, k);
    const SimForward f = simulate_forward(c, nullptr, nullptr, nullptr);
    const int64_t Nq = k.seq_q, Nk = k.seq_k, d = k.d, e = 2, H = 3, NN = Nq * Nk;
    const int64_t Tr = cdiv(Nq, f.tiles.block_rows), Tc = cdiv(Nk, f.tiles.block_cols);
    const int64_t M = k.sram_kib * 1024 / e;
    const int64_t s_reads = Nk + 2 <= M ? 1 : 2;  // the softmax reads S once if a row fits
    CAPTURE(Nq);
    CAPTURE(Nk);
    CAPTURE(d);
    CAPTURE(s_reads);
    // FA1 Alg. 0 l. 1: Q once, K once per Q block, S written. FA1 Alg. 0 l. 2: S read, P written.
    // FA1 Alg. 0 l. 3: P once, V once per Q block, O written.
    CHECK(f.stats.bytes_read() == H * e * (Nq * d + 2 * Tr * Nk * d + s_reads * NN + NN));
    CHECK(f.stats.bytes_written() == H * e * (2 * NN + Nq * d));
    CHECK(f.stats.matmul_flops == H * 4 * NN * d);

    const SimBackward b = simulate_backward(c, nullptr, nullptr, nullptr, nullptr);
    const int64_t pd_reads = 2 * Nk + 1 <= M ? 1 : 2;
    // FA1 Alg. 3 l. 1: P, dO (T_c times). FA1 Alg. 3 l. 2: dO, V (T_r times), dP written.
    // FA1 Alg. 3 l. 3: P, dP read, dS written. FA1 Alg. 3 l. 4–5: dS twice, K T_r times, Q T_c
    // times.
    CHECK(b.stats.bytes_read() == H * e *
                                      (NN + Tc * Nq * d + Nq * d + Tr * Nk * d + 2 * pd_reads * NN +
                                       2 * NN + Tr * Nk * d + Tc * Nq * d));
    CHECK(b.stats.bytes_written() == H * e * (Nk * d + NN + NN + Nq * d + Nk * d));
  }
}

TEST_CASE("mask and dropout add N x N passes to standard attention only") {
  const Case k{300, 300, 64, 64};
  SimConfig c = counting(Algorithm::Standard, k, 1);
  const int64_t NN = 300 * 300, e = 2;
  const SimForward plain = simulate_forward(c, nullptr, nullptr, nullptr);
  c.options.causal = true;
  c.options.dropout_p = 0.1;
  const SimForward both = simulate_forward(c, nullptr, nullptr, nullptr);
  // mask: read S + write S; dropout: read P + write P^dropped.
  CHECK(both.stats.total_bytes() - plain.stats.total_bytes() == e * 4 * NN);
  const SimBackward pb = [&] {
    SimConfig p = c;
    p.options.causal = false;
    p.options.dropout_p = 0;
    return simulate_backward(p, nullptr, nullptr, nullptr, nullptr);
  }();
  const SimBackward bb = simulate_backward(c, nullptr, nullptr, nullptr, nullptr);
  // dropout's backward: read dP + write dP. The mask costs the backward nothing.
  CHECK(bb.stats.total_bytes() - pb.stats.total_bytes() == e * 2 * NN);

  c.algorithm = Algorithm::Flash;
  c.options.causal = false;
  c.tiles = TileSizes{32, 32};
  const SimForward fp = simulate_forward(c, nullptr, nullptr, nullptr);
  c.options.dropout_p = 0;
  const SimForward fn = simulate_forward(c, nullptr, nullptr, nullptr);
  CHECK(fp.stats.total_bytes() == fn.stats.total_bytes());  // dropout regenerated on chip
}

TEST_CASE("causal flash skips the blocks above the diagonal: T(T+1)/2 of T^2") {
  for (int64_t B : {16, 64}) {
    const int64_t N = 512, d = 32, Tn = N / B, e = 2;
    SimConfig c = counting(Algorithm::Flash, {N, N, d, 1024}, 1);
    c.options.causal = true;
    c.tiles = TileSizes{B, B};
    const SimForward f = simulate_forward(c, nullptr, nullptr, nullptr);
    const int64_t active = Tn * (Tn + 1) / 2;
    CHECK(f.stats[T::Q].reads == active);
    CHECK(f.stats[T::Q].bytes_read == e * active * B * d);
    CHECK(f.stats.matmul_flops == 4 * active * B * B * d);
    // FA2: K and V are loaded only for the active blocks of each row.
    c.algorithm = Algorithm::Flash2;
    const SimForward f2 = simulate_forward(c, nullptr, nullptr, nullptr);
    CHECK(f2.stats[T::K].bytes_read == e * active * B * d);
    c.algorithm = Algorithm::Flash;
    const SimBackward b = simulate_backward(c, nullptr, nullptr, nullptr, nullptr);
    CHECK(b.stats[T::dQ].bytes_read == e * active * B * d);
  }
}

TEST_CASE("block-sparse flash loads Q_i only for blocks whose mask entry is 1 (FA1 Alg. 5)") {
  const int64_t N = 640, d = 64, B = 64, e = 2;
  const BlockMask mask = butterfly_mask(N, N, B);
  int64_t ones = 0;
  for (uint8_t v : mask.layout) ones += v;
  SimConfig c = counting(Algorithm::Flash, {N, N, d, 1024}, 1);
  c.options.block_mask = mask;
  c.tiles = TileSizes{B, B};
  const SimForward f = simulate_forward(c, nullptr, nullptr, nullptr);
  CHECK(f.stats[T::Q].bytes_read == e * ones * B * d);
  CHECK(f.stats[T::K].bytes_read == e * N * d);  // FA1 Alg. 5 l. 6 loads every K_j
  CHECK(f.stats.bytes_written() == e * (N * d + 2 * N + ones * (B * d + 2 * B)));
}

TEST_CASE("counting-only and computing runs count exactly the same") {
  const Case k{70, 45, 16, 8};
  for (Algorithm a : {Algorithm::Standard, Algorithm::Flash, Algorithm::Flash2}) {
    SimConfig c = counting(a, k, 1);
    c.options.causal = true;
    c.options.dropout_p = 0.2;
    const SimForward counted = simulate_forward(c, nullptr, nullptr, nullptr);
    c.counting_only = false;
    const Tensor<float> Q(q_dims(c.shape), 0.5f), KV(kv_dims(c.shape), -0.25f);
    const SimForward computed = simulate_forward(c, &Q, &KV, &KV);
    CHECK(counted.stats.total_bytes() == computed.stats.total_bytes());
    CHECK(counted.stats.matmul_flops == computed.stats.matmul_flops);
    CHECK(counted.stats.exp_ops == computed.stats.exp_ops);
    CHECK(counted.stats.peak_sram_bytes == computed.stats.peak_sram_bytes);
  }
}

TEST_CASE("peak SRAM is the hand-counted footprint and never above capacity") {
  const int64_t N = 300, d = 40, Br = 24, Bc = 56, e = 2;
  SimConfig c = counting(Algorithm::Flash, {N, N, d, 1024}, 1);
  c.tiles = TileSizes{Br, Bc};
  // FA1 Alg. 2: K_j, V_j, Q_i, O_i, S_ij and 8 row vectors (l, m, m~, l~, m_new, l_new, 2 factors).
  CHECK(simulate_forward(c, nullptr, nullptr, nullptr).stats.peak_sram_bytes ==
        e * (2 * Bc * d + 2 * Br * d + Br * Bc + 8 * Br));
  // FA1 Alg. 4: K_j, V_j, dK~_j, dV~_j, Q_i, O_i, dO_i, dQ_i, P_ij, dP_ij, and l_i, m_i, D_i.
  CHECK(simulate_backward(c, nullptr, nullptr, nullptr, nullptr).stats.peak_sram_bytes ==
        e * (4 * Bc * d + 4 * Br * d + 2 * Br * Bc + 3 * Br));
  c.options.dropout_p = 0.5;  // plus P_ij^dropped
  CHECK(simulate_backward(c, nullptr, nullptr, nullptr, nullptr).stats.peak_sram_bytes ==
        e * (4 * Bc * d + 4 * Br * d + 3 * Br * Bc + 3 * Br));
  c.algorithm = Algorithm::Flash2;  // Q_i, O_i, K_j, V_j, S_ij, m_i, l_i, rescale
  CHECK(simulate_forward(c, nullptr, nullptr, nullptr).stats.peak_sram_bytes ==
        e * (2 * Br * d + 2 * Bc * d + Br * Bc + 3 * Br));
  c.algorithm = Algorithm::Standard;  // max(product blocks, a strip of Br full rows + m, l)
  CHECK(simulate_forward(c, nullptr, nullptr, nullptr).stats.peak_sram_bytes ==
        e * std::max(Br * d + Bc * d + Br * Bc, Br * (N + 2)));

  // With the default tiles of many configurations the peak never exceeds the SRAM.
  for (const Case& k : kCases) {
    for (Algorithm a : {Algorithm::Standard, Algorithm::Flash, Algorithm::Flash2}) {
      SimConfig d2 = counting(a, k, 1);
      CHECK(simulate_forward(d2, nullptr, nullptr, nullptr).stats.peak_sram_bytes <= d2.sram_bytes);
      if (a != Algorithm::Flash2)
        CHECK(simulate_backward(d2, nullptr, nullptr, nullptr, nullptr).stats.peak_sram_bytes <=
              d2.sram_bytes);
    }
  }
}

TEST_CASE("the display formulas of io_formulas agree with the measured counts") {
  for (const Case& k : kCases) {
    for (Algorithm a : {Algorithm::Standard, Algorithm::Flash, Algorithm::Flash2}) {
      for (bool causal : {false, true}) {
        for (bool backward : {false, true}) {
          if (backward && a == Algorithm::Flash2) continue;
          SimConfig c = counting(a, k, 2);
          c.options.causal = causal;
          c.options.dropout_p = causal ? 0.1 : 0.0;
          CAPTURE(to_string(a));
          CAPTURE(causal);
          CAPTURE(backward);
          CAPTURE(k.seq_q);
          const IoFormula f = io_formula(c, backward);
          const IoStats s = backward
                                ? simulate_backward(c, nullptr, nullptr, nullptr, nullptr).stats
                                : simulate_forward(c, nullptr, nullptr, nullptr).stats;
          CHECK(f.bytes_read == s.bytes_read());
          CHECK(f.bytes_written == s.bytes_written());
          for (const TensorFormula& t : f.tensors) {
            CHECK(t.read_elements * 2 == s[t.tensor].bytes_read);
            CHECK(t.written_elements * 2 == s[t.tensor].bytes_written);
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace flashlab::simulator
