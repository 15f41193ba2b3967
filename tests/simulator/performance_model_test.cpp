// The performance model (model/performance_model.hpp, model/l2_cache.hpp) and the work record the
// machine keeps for it: LRU hits and write-backs counted by hand, list scheduling on a toy GPU
// worked out by hand, the work units each algorithm declares (FA1: one per head, FA2: one per
// query or key block), and the orderings the model claims on the H200 preset.
#include <doctest/doctest.h>

#include <flashlab/core/error.hpp>
#include <flashlab/simulator/model/l2_cache.hpp>
#include <flashlab/simulator/model/performance_model.hpp>
#include <flashlab/simulator/simulate.hpp>

namespace flashlab::simulator {
namespace {

// A GPU whose numbers make hand arithmetic easy: 2 SMs sharing 2 FLOP/s (1 per SM).
GpuSpec toy_gpu() {
  GpuSpec g;
  g.name = "toy";
  g.sm_count = 2;
  g.smem_per_block_bytes = 100;
  g.smem_per_sm_bytes = 100;
  g.max_blocks_per_sm = 4;
  g.l2_bytes = 1000;
  // DRAM, L2, L2 adds B/s; matmul, exp, other, dropout draws per s
  g.sustained = {100.0, 1000.0, 10.0, 2.0, 2.0, 2.0, 2.0};
  g.launch_s = 0.5;
  return g;
}

// One launch whose unit k does seconds[k] seconds of matmul on one toy SM, no memory traffic.
WorkRecord compute_only(const std::vector<int64_t>& seconds, int64_t heads = 1) {
  WorkRecord w;
  w.heads = heads;
  Launch l;
  l.name = "toy";
  l.unit_sram_bytes = 50;  // two fit one SM
  for (int64_t s : seconds) {
    UnitCost u;
    u.matmul_flops = s;
    l.units.push_back(u);
  }
  w.launches.push_back(l);
  return w;
}

struct Run {
  IoStats stats;
  WorkRecord work;
};

Run simulate(Algorithm a, bool backward, const AttentionShape& shape, bool causal = false) {
  SimConfig c;
  c.algorithm = a;
  c.shape = shape;
  c.options.causal = causal;
  c.counting_only = true;
  c.sram_bytes = h200_sxm().smem_per_block_bytes;
  if (backward) {
    SimBackward b = simulate_backward(c, nullptr, nullptr, nullptr, nullptr);
    return {b.stats, std::move(b.work)};
  }
  SimForward f = simulate_forward(c, nullptr, nullptr, nullptr);
  return {f.stats, std::move(f.work)};
}

double predicted(Algorithm a, bool backward, const AttentionShape& shape, bool causal = false) {
  return predict_runtime(simulate(a, backward, shape, causal).work, h200_sxm()).predicted_s;
}

TEST_CASE("the L2 is an LRU of whole tiles: misses read DRAM, dirty tiles are written once") {
  L2Cache l2(300);
  l2.access(1, 100, AccessKind::Read);   // miss: 100 read
  l2.access(1, 100, AccessKind::Read);   // hit
  l2.access(2, 100, AccessKind::Write);  // allocates, no read
  l2.access(3, 100, AccessKind::Read);   // miss: 200 read; cache full (1, 2, 3)
  CHECK(l2.dram_read_bytes() == 200);
  CHECK(l2.dram_write_bytes() == 0);
  l2.access(4, 100, AccessKind::Read);  // evicts 1 (least recently used, clean): 300 read
  l2.access(1, 100, AccessKind::Read);  // miss again, evicts 2 (dirty): 400 read, 100 written
  CHECK(l2.dram_read_bytes() == 400);
  CHECK(l2.dram_write_bytes() == 100);
  l2.access(3, 100, AccessKind::Reduce);  // hit: becomes dirty without a read
  l2.access(9, 50, AccessKind::Reduce);   // miss: a reduction fetches what it adds to
  CHECK(l2.dram_read_bytes() == 450);
  l2.write_back();  // 3 (100) and 9 (50) are dirty
  CHECK(l2.dram_write_bytes() == 250);
  l2.write_back();  // nothing dirty any more
  CHECK(l2.dram_write_bytes() == 250);
  l2.access(7, 5000, AccessKind::Write);  // larger than the cache: straight to DRAM
  CHECK(l2.dram_write_bytes() == 5250);
}

TEST_CASE("units go to the SM with the least work: makespan, idle SMs and the launch cost") {
  const GpuSpec g = toy_gpu();
  // Units of 3, 1, 1, 1 s on 2 SMs in launch order: SM0 takes 3; SM1 takes 1, 1, 1: both end at 3.
  Prediction p = predict_runtime(compute_only({3, 1, 1, 1}), g);
  REQUIRE(p.launches.size() == 1);
  CHECK(p.launches[0].compute_s == doctest::Approx(3.0));
  CHECK(p.launches[0].sm_busy == doctest::Approx(1.0));
  CHECK(p.launches[0].predicted_s == doctest::Approx(3.5));  // + launch
  CHECK(p.launches[0].bound == Bound::Compute);
  CHECK(p.launches[0].units_per_sm == 2);  // 100 B of shared memory / 50 B per unit
  CHECK(p.launches[0].waves == doctest::Approx(1.0));
  // Launch order matters: 1, 1, 1, 3 gives SM0 1 + 1 = 2, SM1 1 + 3 = 4 (the long unit last).
  p = predict_runtime(compute_only({1, 1, 1, 3}), g);
  CHECK(p.launches[0].compute_s == doctest::Approx(4.0));
  CHECK(p.launches[0].sm_busy == doctest::Approx(6.0 / 8.0));
  // One unit alone gets a whole SM; the other SM idles.
  p = predict_runtime(compute_only({2}), g);
  CHECK(p.launches[0].compute_s == doctest::Approx(2.0));
  CHECK(p.launches[0].sm_busy == doctest::Approx(0.5));
  // Heads repeat the units: 2 heads of {1} = 2 units of 1 s, one per SM.
  p = predict_runtime(compute_only({1}, 2), g);
  CHECK(p.units == 2);
  CHECK(p.launches[0].compute_s == doctest::Approx(1.0));
  // A tiny launch is bound by its launch cost.
  p = predict_runtime(compute_only({0}), g);
  CHECK(p.launches[0].bound == Bound::Launch);
  CHECK(p.predicted_s == doctest::Approx(0.5));
}

TEST_CASE("a kernel that runs its softmax under its matmuls takes the longer, not the sum") {
  const GpuSpec g = toy_gpu();  // one SM alone: 1 matmul FLOP/s, 1 exp/s, 1 other op/s
  auto one_unit = [](int64_t matmul, int64_t exp, int64_t other, bool overlapped) {
    WorkRecord w = compute_only({matmul});
    w.launches[0].units[0].exp_ops = exp;
    w.launches[0].units[0].other_flops = other;
    w.launches[0].softmax_under_matmul = overlapped;
    return w;
  };
  // 3 s of products, 1 s of exponentials, 1 s of other operations.
  CHECK(predict_runtime(one_unit(3, 1, 1, false), g).launches[0].compute_s == doctest::Approx(5.0));
  const Prediction p = predict_runtime(one_unit(3, 1, 1, true), g);
  CHECK(p.launches[0].compute_s == doctest::Approx(3.0));
  CHECK(p.launches[0].softmax_under_matmul);
  // The softmax longer than the products: it is what the unit waits for.
  CHECK(predict_runtime(one_unit(1, 2, 2, true), g).launches[0].compute_s == doctest::Approx(4.0));
  // The work itself is the same either way: the terms of the whole launch do not change.
  CHECK(p.launches[0].matmul_s == doctest::Approx(1.5));
  CHECK(p.launches[0].exp_s == doctest::Approx(0.5));

  // Beside the tensor cores the softmax keeps half its rates: 2 s of it alone take 4 s, longer
  // than the 3 s of products; 4 s alone take 8 s. The serial rule does not use the share.
  GpuSpec slowed = g;
  slowed.sustained.rest_rate_under_matmul = 0.5;
  CHECK(predict_runtime(one_unit(3, 1, 1, true), slowed).launches[0].compute_s ==
        doctest::Approx(4.0));
  CHECK(predict_runtime(one_unit(1, 2, 2, true), slowed).launches[0].compute_s ==
        doctest::Approx(8.0));
  CHECK(predict_runtime(one_unit(6, 1, 1, true), slowed).launches[0].compute_s ==
        doctest::Approx(6.0));
  CHECK(predict_runtime(one_unit(3, 1, 1, false), slowed).launches[0].compute_s ==
        doctest::Approx(5.0));
  // The loop fills and drains once: of a unit's 4 steps, one runs serially. 3 s of products and
  // 2 s of softmax: 3/4 x max(3, 2) + 1/4 x (3 + 2) = 3.5 s.
  WorkRecord stepped = one_unit(3, 1, 1, true);
  stepped.launches[0].units[0].steps = 4;
  stepped.step_ends = {0, 0, 0, 0};  // four steps that move no bytes
  CHECK(predict_runtime(stepped, g).launches[0].compute_s == doctest::Approx(3.5));
  stepped.launches[0].units[0].steps = 1;  // one step: nothing to overlap
  CHECK(predict_runtime(stepped, g).launches[0].compute_s == doctest::Approx(5.0));
  stepped.launches[0].softmax_under_matmul = false;  // the serial rule ignores the steps
  stepped.launches[0].units[0].steps = 4;
  CHECK(predict_runtime(stepped, g).launches[0].compute_s == doctest::Approx(5.0));
  // Dropout's draws are part of the rest, at their own rate: 1 s of draws adds 1 s serially and
  // 2 s under matmul at half the rates (3 s of products, 1 + 1 + 1 s of rest: 6 s beside them).
  WorkRecord drawn = one_unit(3, 1, 1, false);
  drawn.launches[0].units[0].random_draws = 1;
  const Prediction d = predict_runtime(drawn, g);
  CHECK(d.launches[0].compute_s == doctest::Approx(6.0));
  CHECK(d.launches[0].random_s == doctest::Approx(0.5));
  drawn.launches[0].softmax_under_matmul = true;
  CHECK(predict_runtime(drawn, slowed).launches[0].compute_s == doctest::Approx(6.0));
  GpuSpec no_draw_rate = g;
  no_draw_rate.sustained.random_draws_per_s = 0;
  CHECK_THROWS_WITH_AS(predict_runtime(drawn, no_draw_rate), doctest::Contains("positive"),
                       flashlab::Error);
  // A share outside (0, 1] is refused, naming the preset.
  for (const double bad : {0.0, -0.5, 1.5}) {
    slowed.sustained.rest_rate_under_matmul = bad;
    CHECK_THROWS_WITH_AS(predict_runtime(one_unit(3, 1, 1, true), slowed),
                         doctest::Contains("rate under matmul in (0, 1]"), flashlab::Error);
  }
}

TEST_CASE("memory bounds a launch when it takes longer than the compute") {
  GpuSpec g = toy_gpu();
  WorkRecord w = compute_only({1});
  UnitCost& u = w.launches[0].units[0];
  u.bytes_read = 3000;  // 3000 B over L2 at 1000 B/s = 3 s
  w.accesses.push_back({42, 3000, AccessKind::Read});
  w.step_ends.push_back(1);
  u.first_step = 0;
  u.steps = 1;
  const Prediction p = predict_runtime(w, g);
  CHECK(p.launches[0].l2_s == doctest::Approx(3.0));
  // The tile is larger than the toy L2: it streams from DRAM, 3000 B at 100 B/s = 30 s.
  CHECK(p.dram_read_bytes == 3000);
  CHECK(p.launches[0].dram_s == doctest::Approx(30.0));
  CHECK(p.launches[0].bound == Bound::Dram);
  CHECK(p.predicted_s == doctest::Approx(30.5));
}

TEST_CASE("FA1 runs one unit per head, FA2 one per query block forward and per key block back") {
  const AttentionShape s{2, 3, 1000, 700, 64};
  const Run fa1 = simulate(Algorithm::Flash, false, s);
  REQUIRE(fa1.work.launches.size() == 1);
  CHECK(fa1.work.launches[0].units.size() == 1);
  CHECK(fa1.work.heads == 6);
  const Run fa2 = simulate(Algorithm::Flash2, false, s);
  REQUIRE(fa2.work.launches.size() == 1);
  CHECK(fa2.work.launches[0].units.size() == size_t((1000 + 127) / 128));  // B_r = 128
  const Run fa2b = simulate(Algorithm::Flash2, true, s);
  // dQ_acc memset, D = rowsum(dO o O), the main loop (one unit per K/V block), dQ conversion.
  REQUIRE(fa2b.work.launches.size() == 4);
  CHECK_FALSE(fa2b.work.launches[0].kernel);
  CHECK(fa2b.work.launches[2].units.size() == size_t((700 + 127) / 128));  // B_c = 128
  // Each record holds one head: its units' counts times the heads are the whole run's.
  for (const Run* r : {&fa1, &fa2, &fa2b}) {
    int64_t matmul = 0, exps = 0, bytes = 0;
    for (const Launch& l : r->work.launches)
      for (const UnitCost& u : l.units) {
        matmul += u.matmul_flops;
        exps += u.exp_ops;
        bytes += u.bytes_read + u.bytes_written;
      }
    CHECK(matmul * r->work.heads == r->stats.matmul_flops);
    CHECK(exps * r->work.heads == r->stats.exp_ops);
    CHECK(bytes * r->work.heads == r->stats.total_bytes());
  }
}

TEST_CASE("dropout draws one Philox call per eight elements a pass computes, priced by the model") {
  // N_k = 700 is no multiple of 8 or of a tile: the last group of each row holds 4 keys.
  const AttentionShape s{2, 3, 1000, 700, 64};
  const int64_t groups = (700 + 7) / 8, heads = 6;
  for (const Algorithm a : {Algorithm::Flash, Algorithm::Flash2, Algorithm::Standard})
    for (const bool backward : {false, true}) {
      CAPTURE(int(a));
      CAPTURE(backward);
      SimConfig c;
      c.algorithm = a;
      c.shape = s;
      c.options.dropout_p = 0.1;
      c.counting_only = true;
      c.sram_bytes = h200_sxm().smem_per_block_bytes;
      const IoStats stats = backward
                                ? simulate_backward(c, nullptr, nullptr, nullptr, nullptr).stats
                                : simulate_forward(c, nullptr, nullptr, nullptr).stats;
      // Every pass draws each element's decision once: the forward where it drops P, the fused
      // backward where it regenerates the mask and uses it twice (FA1 Alg. 4 l. 14 and 18),
      // standard attention's backward in its pass over dP (its forward stored P^dropped). A
      // group of eight keys cut by a tile edge is drawn by both tiles: FA2's tiles are multiples
      // of 8 wide, the others' (sized for the SRAM) need not be, which costs a few per cent.
      const int64_t once = 1000 * groups * heads;
      if (a == Algorithm::Flash2) CHECK(stats.random_draws == once);
      CHECK(stats.random_draws >= once);
      CHECK(double(stats.random_draws) <= 1.05 * double(once));
      c.options.dropout_p = 0;
      const IoStats plain = backward
                                ? simulate_backward(c, nullptr, nullptr, nullptr, nullptr).stats
                                : simulate_forward(c, nullptr, nullptr, nullptr).stats;
      CHECK(plain.random_draws == 0);
    }
}

TEST_CASE("the FA2 order's K and V re-reads hit the L2: DRAM reads are Q, K, V once") {
  // 4 heads x 8 query blocks run side by side on 132 SMs: every block of a head re-reads the
  // head's K and V while the others do, so only the first read of each tile reaches DRAM.
  const AttentionShape s{1, 4, 1024, 1024, 64};
  const Run r = simulate(Algorithm::Flash2, false, s);
  const Prediction p = predict_runtime(r.work, h200_sxm());
  const int64_t qkv = 3 * s.q_elements() * 2;
  CHECK(p.dram_read_bytes == qkv);
  CHECK(p.l2_bytes == r.stats.total_bytes());  // every SRAM <-> HBM byte crosses the L2
  CHECK(p.l2_bytes > 2 * p.dram_read_bytes);
}

TEST_CASE("the orderings the model claims: FA2 <= FA1, causal < dense, flash < standard") {
  for (const AttentionShape& s :
       {AttentionShape{1, 4, 1024, 1024, 64}, AttentionShape{4, 16, 4096, 4096, 128}}) {
    CAPTURE(to_string(s));
    for (bool backward : {false, true}) {
      CAPTURE(backward);
      const double fa1 = predicted(Algorithm::Flash, backward, s);
      const double fa2 = predicted(Algorithm::Flash2, backward, s);
      CHECK(fa2 <= fa1);  // FA2 §3.2: parallel over the sequence too
      // FA2 §3.1: causal skipping. With SMs to spare (the small problem) the longest unit, the
      // last query block, is as long as without the mask, as the H200 measured (docs).
      const double causal = predicted(Algorithm::Flash2, backward, s, true);
      if (s.batch * s.heads * s.seq_q >= 4096 * 64)
        CHECK(causal < fa2);
      else
        CHECK(causal <= fa2);
    }
  }
  const AttentionShape big{4, 16, 4096, 4096, 128};
  CHECK(predicted(Algorithm::Flash2, false, big) < predicted(Algorithm::Standard, false, big));
  CHECK(predicted(Algorithm::Flash2, true, big) < predicted(Algorithm::Standard, true, big));
}

}  // namespace
}  // namespace flashlab::simulator
