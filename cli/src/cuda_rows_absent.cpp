// The CUDA hook in a build that cannot run the kernels: both CUDA rows are absent, with why.
#include <flashlab/cli/cuda_rows.hpp>

namespace flashlab::cli {
namespace {

constexpr const char* kReason =
    "flashlab was built without CUDA (FLASHLAB_CUDA=OFF or nvcc not found)";

}  // namespace

std::vector<ImplementationRun> run_cuda(const Problem&, const Inputs&, bool) {
  return {ImplementationRun::absent("cuda flash (fused)", "cuda_flash", ImplementationKind::Cuda,
                                    "fused FlashAttention CUDA kernel (FA2 loop order)", kReason),
          ImplementationRun::absent("cuda naive", "cuda_naive", ImplementationKind::Cuda,
                                    "naive CUDA baseline: S and P materialized in HBM", kReason)};
}

GpuDevice detect_gpu() {
  GpuDevice d;
  d.reason = "no CUDA in this build (FLASHLAB_CUDA=OFF or nvcc not found)";
  return d;
}

}  // namespace flashlab::cli
