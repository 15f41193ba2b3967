// The performance model: from what the simulator executed (the work record: launches, units,
// steps, their FLOPs and bytes) to the time a real GPU takes, as a sum of named terms a student
// can read. The paper's IO analysis (SRAM <-> HBM bytes) stays the input; the model adds what a
// GPU does on top of it:
//   parallelism  units per launch spread over the SMs in launch order, each next unit on the SM
//                with the least work so far (units resident on one SM share its rate): idle SMs,
//                the tail of the last wave and causal imbalance all follow from it; how many
//                units fit one SM's shared memory at once (its slots) decides which run side by
//                side for the L2;
//   compute      a unit's matmul FLOPs at the tensor-core rate + its exponentials at the SFU rate
//                + its other operations at the fp32 rate, one SM's share of each (assumed NOT to
//                overlap each other inside an SM: warps issue them in turn), or, for a launch
//                whose kernel runs the softmax under the products (Launch::
//                softmax_under_matmul, a warp-specialised kernel), the longer of the matmul
//                and the rest, the rest at the share of its rates it keeps beside the tensor
//                cores (GpuRates::rest_rate_under_matmul, measured on the forward's loop), for
//                all but one of the unit's steps: its loop fills and drains once (serially);
//   memory       the counted SRAM <-> HBM bytes travel between the SMs and the L2 (at the L2's
//                bandwidth; reductions, FA2's dQ adds, at the rate its atomic units add fp32);
//                the L2 (l2_cache.hpp) decides which reach DRAM (at DRAM bandwidth);
//                memory overlaps compute (the kernels prefetch): a launch takes the longest of
//                compute, L2 and DRAM;
//   launch       a fixed cost per kernel launch (an empty kernel, measured).
// Constants: GpuSpec::sustained (microbenchmarks, never the predicted times).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <flashlab/simulator/machine/work_record.hpp>
#include <flashlab/simulator/model/gpu_spec.hpp>

namespace flashlab::simulator {

enum class Bound { Compute, L2, Dram, Launch };
const char* to_string(Bound b);

struct LaunchPrediction {
  std::string name;
  bool kernel = true;  // false: a memset (Launch::kernel)
  // Parallelism.
  int64_t units = 0;         // thread blocks in the grid (all heads)
  int64_t units_per_sm = 0;  // resident at once on one SM (shared memory, hardware limit)
  int64_t slots = 0;         // units running at once: min(units, SMs x units_per_sm)
  double waves = 0;          // units / (SMs x units_per_sm)
  double sm_busy = 0;        // busy SM-time / (SMs x makespan): 1 = no SM ever idle
  // Compute: the sums over all units at the whole GPU's rates (what a perfectly balanced launch
  // would take), and the makespan of the units on the slots (what the schedule gives).
  double matmul_s = 0, exp_s = 0, vector_s = 0, random_s = 0;
  double compute_s = 0;  // makespan
  // Launch::softmax_under_matmul: max(matmul, rest / rest_rate_under_matmul), not the sum, per
  // unit, for all but one step of each unit
  bool softmax_under_matmul = false;
  // Memory.
  int64_t l2_bytes = 0;         // SRAM <-> L2 (the simulator's HBM bytes)
  int64_t l2_reduce_bytes = 0;  // of which reductions (FA2's dQ), at the L2's atomic rate
  int64_t dram_read_bytes = 0, dram_write_bytes = 0;
  double l2_s = 0, dram_s = 0;
  double launch_s = 0;
  double predicted_s = 0;  // max(compute, L2, DRAM) + launch
  Bound bound = Bound::Compute;
};

struct Prediction {
  std::string gpu;
  std::vector<LaunchPrediction> launches;
  double predicted_s = 0;  // the launches one after another
  // Totals over the launches.
  int64_t units = 0, l2_bytes = 0, dram_read_bytes = 0, dram_write_bytes = 0;
  double compute_s = 0, l2_s = 0, dram_s = 0, launch_s = 0;
  Bound bound = Bound::Compute;  // of the launch that takes longest
};

Prediction predict_runtime(const WorkRecord& work, const GpuSpec& gpu);

// The same prediction restricted to the launches that are kernels (what Nsight Compute lists).
Prediction kernels_only(const Prediction& p);

}  // namespace flashlab::simulator
