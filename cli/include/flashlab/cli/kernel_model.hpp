// The simulator's prediction for a real kernel: the algorithm it implements, run counting-only
// with the kernel's own tiles, through the performance model. Used by compare's CUDA rows and by
// `flashlab validate`, which sets it beside Nsight Compute's measurements.
#pragma once

#include <flashlab/core/options.hpp>
#include <flashlab/core/shape.hpp>
#include <flashlab/core/tiling.hpp>
#include <flashlab/simulator/machine/io_stats.hpp>
#include <flashlab/simulator/model/gpu_spec.hpp>
#include <flashlab/simulator/model/performance_model.hpp>

namespace flashlab::cli {

// Fused: FA2 Alg. 1 forward / FA2 Alg. 2 backward (our kernels and PyTorch's FA2) with the given
// tiles. Naive: standard attention (FA1 Alg. 0 / FA1 Alg. 3), one launch per operation, tiled for
// the preset's shared memory (cuBLAS picks its own tiles, which the model does not know).
enum class KernelCall { FusedForward, FusedBackward, NaiveForward, NaiveBackward };

struct KernelPrediction {
  simulator::IoStats stats;            // SRAM <-> HBM counts, all launches
  simulator::Prediction prediction;    // every launch
  simulator::Prediction kernels_only;  // the launches a kernel profiler lists (no memsets)
  TileSizes tiles;
};

// softmax_under_matmul: the kernel runs its softmax while its tensor cores multiply (our
// warp-specialised forward, cuda::flash_forward_overlaps_softmax); the model then charges each
// unit the longer of the two instead of their sum (Launch::softmax_under_matmul). kept_max: the
// fused forward keeps its running max (cuda::flash_forward_keeps_max); the simulator's FA2 forward
// then does too (SimConfig::kept_max) and counts O's rescale only where the max moves.
KernelPrediction predict_kernel(KernelCall call, const AttentionShape& shape,
                                const AttentionOptions& options, int element_bytes, TileSizes tiles,
                                const simulator::GpuSpec& gpu, bool softmax_under_matmul = false,
                                bool kept_max = false);

}  // namespace flashlab::cli
