// The performance model's terms (performance_model.hpp), launch by launch.
#include <flashlab/simulator/model/performance_model.hpp>

#include <algorithm>
#include <functional>
#include <queue>

#include <flashlab/core/error.hpp>
#include <flashlab/simulator/model/l2_cache.hpp>

namespace flashlab::simulator {

const char* to_string(Bound b) {
  switch (b) {
    case Bound::Compute:
      return "compute";
    case Bound::L2:
      return "L2";
    case Bound::Dram:
      return "DRAM";
    case Bound::Launch:
      return "launch";
  }
  return "?";
}

namespace {

void require_rates(const GpuSpec& g) {
  const GpuRates& r = g.sustained;
  require(g.sm_count > 0 && g.smem_per_sm_bytes > 0 && g.max_blocks_per_sm > 0 && g.l2_bytes > 0 &&
              r.dram_bytes_per_s > 0 && r.l2_bytes_per_s > 0 && r.l2_reduce_bytes_per_s > 0 &&
              r.matmul_flops_per_s > 0 && r.exp_per_s > 0 && r.vector_ops_per_s > 0 &&
              r.random_draws_per_s > 0 && r.rest_rate_under_matmul > 0 &&
              r.rest_rate_under_matmul <= 1 && g.launch_s >= 0,
          "GPU preset '" + g.name +
              "' needs positive SMs, memories and rates, and a rate under matmul in (0, 1]");
}

int64_t units_per_sm(const Launch& l, const GpuSpec& g) {
  const int64_t by_smem = l.unit_sram_bytes > 0 ? g.smem_per_sm_bytes / l.unit_sram_bytes
                                                : int64_t(g.max_blocks_per_sm);
  return std::clamp<int64_t>(by_smem, 1, g.max_blocks_per_sm);
}

// Seconds one unit's arithmetic takes with a whole SM to itself (one SM's share of the GPU's
// rates): the three kinds of arithmetic one after another, or, when the kernel runs the softmax
// while its tensor cores multiply, the longer of the products and the rest, the rest at the share
// of its rates it keeps beside the tensor cores (GpuRates::rest_rate_under_matmul, measured on
// the forward's own loop: the units are separate, yet they slow each other down). Such a loop
// fills and drains once per unit: the softmax of its first step has no product to run under,
// its last product no softmax, so one of its n steps runs serially (a unit recorded without
// steps is taken as all overlapped). Units resident on the same SM share its rate, so an SM's
// time is the sum of its units' seconds.
double unit_seconds(const UnitCost& u, const GpuSpec& g, bool softmax_under_matmul) {
  const double share = double(g.sm_count);
  const GpuRates& r = g.sustained;
  const double matmul = double(u.matmul_flops) / r.matmul_flops_per_s;
  // The rest: exponentials, fp32 operations and dropout's draws, each at its unit's rate.
  const double rest = double(u.exp_ops) / r.exp_per_s + double(u.other_flops) / r.vector_ops_per_s +
                      double(u.random_draws) / r.random_draws_per_s;
  if (!softmax_under_matmul) return share * (matmul + rest);
  const double overlapped = std::max(matmul, rest / r.rest_rate_under_matmul);
  if (u.steps <= 0) return share * overlapped;
  const double serial_share = 1.0 / double(u.steps);  // the fill and drain: one step
  return share * ((1 - serial_share) * overlapped + serial_share * (matmul + rest));
}

// Greedy list scheduling in launch order: each next unit goes to the SM that has the least work
// so far. Returns the makespan and the busy SM-seconds.
std::pair<double, double> schedule(const Launch& l, int64_t heads, int64_t sms,
                                   const std::vector<double>& seconds) {
  std::priority_queue<double, std::vector<double>, std::greater<>> free_at;
  for (int64_t s = 0; s < sms; ++s) free_at.push(0.0);
  double makespan = 0, busy = 0;
  for (int64_t h = 0; h < heads; ++h)
    for (size_t u = 0; u < l.units.size(); ++u) {
      const double start = free_at.top();
      free_at.pop();
      const double end = start + seconds[u];
      busy += seconds[u];
      makespan = std::max(makespan, end);
      free_at.push(end);
    }
  return {makespan, busy};
}

void add_totals(Prediction& p);

}  // namespace

Prediction predict_runtime(const WorkRecord& work, const GpuSpec& g) {
  require_rates(g);
  const GpuRates& r = g.sustained;
  Prediction p;
  p.gpu = g.name;
  std::vector<int64_t> slots;
  for (const Launch& l : work.launches) {
    LaunchPrediction lp;
    lp.name = l.name;
    lp.kernel = l.kernel;
    lp.softmax_under_matmul = l.softmax_under_matmul;
    lp.units = int64_t(l.units.size()) * work.heads;
    lp.units_per_sm = units_per_sm(l, g);
    const int64_t capacity = int64_t(g.sm_count) * lp.units_per_sm;
    lp.slots = std::max<int64_t>(1, std::min(lp.units, capacity));
    lp.waves = double(lp.units) / double(capacity);
    std::vector<double> seconds;
    for (const UnitCost& u : l.units) {
      seconds.push_back(unit_seconds(u, g, l.softmax_under_matmul));
      const double h = double(work.heads);
      lp.matmul_s += h * double(u.matmul_flops) / r.matmul_flops_per_s;
      lp.exp_s += h * double(u.exp_ops) / r.exp_per_s;
      lp.vector_s += h * double(u.other_flops) / r.vector_ops_per_s;
      lp.random_s += h * double(u.random_draws) / r.random_draws_per_s;
      lp.l2_bytes += work.heads * (u.bytes_read + u.bytes_written);
      lp.l2_reduce_bytes += work.heads * u.bytes_reduced;
    }
    const auto [makespan, busy] = schedule(l, work.heads, g.sm_count, seconds);
    lp.compute_s = makespan;
    lp.sm_busy = makespan > 0 ? busy / (double(g.sm_count) * makespan) : 0;
    // Reductions are carried to the L2 like writes, then added there by its atomic units at
    // their own rate.
    lp.l2_s = double(lp.l2_bytes - lp.l2_reduce_bytes) / r.l2_bytes_per_s +
              double(lp.l2_reduce_bytes) / r.l2_reduce_bytes_per_s;
    lp.launch_s = g.launch_s;
    slots.push_back(lp.slots);
    p.launches.push_back(lp);
  }
  const std::vector<DramTraffic> dram = replay_l2(work, g.l2_bytes, slots);
  for (size_t k = 0; k < p.launches.size(); ++k) {
    LaunchPrediction& lp = p.launches[k];
    lp.dram_read_bytes = dram[k].read_bytes;
    lp.dram_write_bytes = dram[k].write_bytes;
    lp.dram_s = double(lp.dram_read_bytes + lp.dram_write_bytes) / r.dram_bytes_per_s;
    const double work_s = std::max({lp.compute_s, lp.l2_s, lp.dram_s});
    lp.predicted_s = work_s + lp.launch_s;
    lp.bound = lp.launch_s > work_s     ? Bound::Launch
               : work_s == lp.compute_s ? Bound::Compute
               : work_s == lp.l2_s      ? Bound::L2
                                        : Bound::Dram;
  }
  add_totals(p);
  return p;
}

Prediction kernels_only(const Prediction& all) {
  Prediction p;
  p.gpu = all.gpu;
  for (const LaunchPrediction& lp : all.launches)
    if (lp.kernel) p.launches.push_back(lp);
  add_totals(p);
  return p;
}

namespace {

void add_totals(Prediction& p) {
  double longest = -1;
  for (const LaunchPrediction& lp : p.launches) {
    p.predicted_s += lp.predicted_s;
    p.units += lp.units;
    p.l2_bytes += lp.l2_bytes;
    p.dram_read_bytes += lp.dram_read_bytes;
    p.dram_write_bytes += lp.dram_write_bytes;
    p.compute_s += lp.compute_s;
    p.l2_s += lp.l2_s;
    p.dram_s += lp.dram_s;
    p.launch_s += lp.launch_s;
    if (lp.predicted_s > longest) {
      longest = lp.predicted_s;
      p.bound = lp.bound;
    }
  }
}

}  // namespace

}  // namespace flashlab::simulator
