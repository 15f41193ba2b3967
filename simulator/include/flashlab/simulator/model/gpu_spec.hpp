// A GPU as the performance model sees it: SMs and the shared memory a block can have (the M of
// FA1 Alg. 1), the L2 between the SMs and DRAM, and the rates of the units that do the work.
// Each preset keeps two sets of rates: the datasheet peaks (shown for reference) and the
// sustained rates the model uses, measured by separate microbenchmarks (flashlab-gpu-microbench:
// a copy, an L2-resident read loop, a cuBLAS GEMM, an exp loop, an FMA loop, an empty kernel),
// never taken from the attention times the model predicts. Sources: docs/simulator.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flashlab::simulator {

struct GpuRates {
  double dram_bytes_per_s = 0;       // DRAM (HBM) bandwidth, read + write
  double l2_bytes_per_s = 0;         // L2 <-> SM bandwidth, whole GPU
  double l2_reduce_bytes_per_s = 0;  // fp32 adds done by the L2 (atomics, bulk reductions)
  double matmul_flops_per_s = 0;     // dense fp16 tensor-core rate, whole GPU
  double exp_per_s = 0;              // exponentials (special-function units), whole GPU
  // fp32 non-tensor operations (CUDA cores), whole GPU; an FMA, a max, an add each count one,
  // as the simulator counts its other_flops
  double vector_ops_per_s = 0;
  // dropout's draws (one Philox-4x32-7 call and its eight threshold tests: core/dropout.hpp),
  // whole GPU; integer multiplies and logic, so neither the exp nor the fp32 rate; no datasheet
  // gives it, so the presets' peak is 0 (unknown)
  double random_draws_per_s = 0;
  // The share of the exp, fp32 and draw rates above that the softmax keeps while the tensor cores
  // multiply, in a kernel that runs the one under the other (Launch::softmax_under_matmul).
  // 1: the units do not get in each other's way (the datasheet's view: they are separate).
  double rest_rate_under_matmul = 1;
};

struct GpuSpec {
  std::string name;
  int sm_count = 0;
  int64_t smem_per_block_bytes = 0;  // shared memory one thread block can have: the SRAM M
  int64_t smem_per_sm_bytes = 0;     // shared memory per SM: how many blocks can share one
  int max_blocks_per_sm = 0;         // hardware limit on resident blocks per SM
  int64_t l2_bytes = 0;
  GpuRates peak;             // datasheet
  GpuRates sustained;        // what the model uses (microbenchmarks; see the preset's comment)
  double launch_s = 0;       // fixed cost of one kernel (empty kernels back to back, measured)
  std::string rates_source;  // where `sustained` comes from, one line
};

// A100-SXM4-40GB, H100-SXM5-80GB and H200-SXM-141GB (the lent GPU).
GpuSpec a100_40gb();
GpuSpec h100_sxm();
GpuSpec h200_sxm();

// The accepted preset names, for help texts and error messages: "a100, h100, h200".
std::string gpu_preset_names();

// "a100" (also "a100-40gb"), "h100" (also "h100-sxm"), "h200" (also "h200-sxm"),
// case-insensitive; throws flashlab::Error naming the accepted presets.
GpuSpec gpu_spec_by_name(const std::string& name);

}  // namespace flashlab::simulator
