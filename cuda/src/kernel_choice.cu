// Which fused kernel runs: kernel_choice.hpp.
#include "kernel_choice.hpp"

#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "validate.hpp"

namespace flashlab::cuda {

bool wgmma_runs_here() {
#if defined(FLASHLAB_CUDA_WGMMA)  // CMake defines it when the architecture list has 90a
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) {
    cudaGetLastError();  // clear it: this was a question, not a failed call
    return false;
  }
  // The answer per device, asked once: 0 unknown, 1 no, 2 yes.
  static std::mutex mutex;
  static std::vector<int> answers;
  const std::lock_guard<std::mutex> lock(mutex);
  if (size_t(device) >= answers.size()) answers.resize(size_t(device) + 1, 0);
  if (answers[size_t(device)] == 0) {
    int major = 0, minor = 0;
    const bool known =
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess &&
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) == cudaSuccess;
    if (!known) {
      cudaGetLastError();
      return false;
    }
    answers[size_t(device)] = major == 9 && minor == 0 ? 2 : 1;
  }
  return answers[size_t(device)] == 2;
#else
  return false;
#endif
}

bool use_wgmma(FusedKernel kernel, Pass pass, int64_t head_dim, const char* entry) {
  if (kernel == FusedKernel::MmaSync) return false;
  const bool built =
      pass == Pass::Forward ? has_wgmma_forward(head_dim) : has_wgmma_backward(head_dim);
  if (kernel == FusedKernel::Wgmma || is_ladder_rung(kernel)) {
    require(built, std::string(entry) + ": the wgmma kernel is built for head_dim " +
                       (pass == Pass::Forward ? list_text(kWgmmaForwardHeadDims)
                                              : list_text(kWgmmaBackwardHeadDims)) +
                       ", not " + std::to_string(head_dim));
    require(wgmma_runs_here(),
            std::string(entry) +
                ": the wgmma kernel needs a compute capability 9.0 GPU "
                "(H100/H200) and a build for sm_90a (CMAKE_CUDA_ARCHITECTURES=90a)");
    return true;
  }
  return built && wgmma_runs_here();
}

void require_ladder_rung_built(FusedKernel kernel, int64_t head_dim, bool dropout, bool tile_log,
                               const char* entry) {
  require(!is_ladder_rung(kernel) || (ladder_rungs_built(head_dim, dropout) && !tile_log),
          std::string(entry) + ": FusedKernel " + to_string(kernel) + " is built at head_dim " +
              list_text(kWgmmaForwardHeadDims) + " without dropout or tile_log, not at head_dim " +
              std::to_string(head_dim) + (dropout ? " with dropout" : "") +
              (tile_log ? " with tile_log" : ""));
}

void refuse_ladder_rung(FusedKernel kernel, const char* entry) {
  require(!is_ladder_rung(kernel) || kernel == FusedKernel::WgmmaSerial ||
              kernel == FusedKernel::WgmmaTma || kernel == FusedKernel::WgmmaWarpSpecialized,
          std::string(entry) + ": FusedKernel " + to_string(kernel) +
              " is a rung of the forward's ladder; the backward runs Auto, Wgmma, MmaSync, "
              "WgmmaSerial, WgmmaTma or WgmmaWarpSpecialized");
}

void require_tile_log_built(DType dtype, int64_t head_dim, bool dropout, const char* entry) {
  require(tile_log_built(dtype, head_dim, dropout),
          std::string(entry) + ": tile_log is recorded for fp16 without dropout at head_dim " +
              list_text(kTileLogHeadDims) + " only, not for " + to_string(dtype) + " at head_dim " +
              std::to_string(head_dim) + (dropout ? " with dropout" : ""));
}

void set_smem_limit_once(const void* kernel, int smem_bytes) {
  int device = 0;
  FLASHLAB_CUDA_CHECK(cudaGetDevice(&device));
  static std::mutex mutex;
  static std::set<std::pair<const void*, int>> done;  // (kernel, device)
  const std::lock_guard<std::mutex> lock(mutex);
  if (done.count({kernel, device}) != 0) return;
  FLASHLAB_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_bytes));
  done.insert({kernel, device});
}

int multiprocessor_count() {
  int device = 0;
  FLASHLAB_CUDA_CHECK(cudaGetDevice(&device));
  static std::mutex mutex;
  static std::vector<int> counts;  // per device; 0 = not asked yet
  const std::lock_guard<std::mutex> lock(mutex);
  if (size_t(device) >= counts.size()) counts.resize(size_t(device) + 1, 0);
  if (counts[size_t(device)] == 0)
    FLASHLAB_CUDA_CHECK(
        cudaDeviceGetAttribute(&counts[size_t(device)], cudaDevAttrMultiProcessorCount, device));
  return counts[size_t(device)];
}

bool wgmma_forward_available(int64_t head_dim) {
  return has_wgmma_forward(head_dim) && wgmma_runs_here();
}

bool wgmma_backward_available(int64_t head_dim) {
  return has_wgmma_backward(head_dim) && wgmma_runs_here();
}

bool wgmma_ladder_available(int64_t head_dim) {
  return ladder_rungs_built(head_dim, false) && wgmma_runs_here();
}

}  // namespace flashlab::cuda
