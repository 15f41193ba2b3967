// A block-sparse layout copied to device memory for the duration of one call (stream-ordered
// allocation, so no synchronization is needed).
#pragma once

#include <cuda_runtime.h>

#include <flashlab/core/options.hpp>

#include "check.hpp"

namespace flashlab::cuda {

class DeviceMask {
 public:
  DeviceMask(const AttentionOptions& options, cudaStream_t stream) : stream_(stream) {
    if (!options.block_mask) return;
    const BlockMask& m = *options.block_mask;
    FLASHLAB_CUDA_CHECK(
        cudaMallocAsync(reinterpret_cast<void**>(&layout_), m.layout.size(), stream));
    FLASHLAB_CUDA_CHECK(
        cudaMemcpyAsync(layout_, m.layout.data(), m.layout.size(), cudaMemcpyHostToDevice, stream));
    view_ = m.view();
    view_.layout = layout_;
  }
  ~DeviceMask() {
    if (layout_) cudaFreeAsync(layout_, stream_);
  }
  DeviceMask(const DeviceMask&) = delete;
  DeviceMask& operator=(const DeviceMask&) = delete;

  // The view kernels take: layout == nullptr when the call has no block mask.
  BlockMaskView view() const { return view_; }

 private:
  cudaStream_t stream_;
  uint8_t* layout_ = nullptr;
  BlockMaskView view_{};
};

}  // namespace flashlab::cuda
