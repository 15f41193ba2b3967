// predict_kernel: the counting-only simulation of the algorithm a kernel implements, with its
// tiles, then the performance model.
#include <flashlab/cli/kernel_model.hpp>

#include <flashlab/simulator/simulate.hpp>

namespace flashlab::cli {

KernelPrediction predict_kernel(KernelCall call, const AttentionShape& shape,
                                const AttentionOptions& options, int element_bytes, TileSizes tiles,
                                const simulator::GpuSpec& gpu, bool softmax_under_matmul,
                                bool kept_max) {
  const bool fused = call == KernelCall::FusedForward || call == KernelCall::FusedBackward;
  const bool backward = call == KernelCall::FusedBackward || call == KernelCall::NaiveBackward;
  simulator::SimConfig c;
  c.algorithm = fused ? simulator::Algorithm::Flash2 : simulator::Algorithm::Standard;
  c.shape = shape;
  c.options = options;
  c.element_bytes = element_bytes;
  c.sram_bytes = gpu.smem_per_block_bytes;
  c.counting_only = true;
  c.record_trace = false;
  c.kept_max = kept_max;  // the simulator's FA2 backward recomputes P from L: nothing to keep
  if (fused) (backward ? c.backward_tiles : c.tiles) = tiles;
  KernelPrediction out;
  simulator::WorkRecord work;
  if (backward) {
    simulator::SimBackward b = simulator::simulate_backward(c, nullptr, nullptr, nullptr, nullptr);
    out.stats = b.stats;
    out.tiles = b.tiles;
    work = std::move(b.work);
  } else {
    simulator::SimForward f = simulator::simulate_forward(c, nullptr, nullptr, nullptr);
    out.stats = f.stats;
    out.tiles = f.tiles;
    work = std::move(f.work);
  }
  for (simulator::Launch& l : work.launches)
    if (l.kernel) l.softmax_under_matmul = softmax_under_matmul;
  out.prediction = simulator::predict_runtime(work, gpu);
  out.kernels_only = simulator::kernels_only(out.prediction);
  return out;
}

}  // namespace flashlab::cli
