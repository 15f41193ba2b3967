// One macro for every CUDA runtime call: a failure becomes flashlab::Error naming the call, the
// file and the line.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include <flashlab/core/error.hpp>

#define FLASHLAB_CUDA_CHECK(call)                                                               \
  do {                                                                                          \
    const cudaError_t flashlab_status_ = (call);                                                \
    if (flashlab_status_ != cudaSuccess)                                                        \
      throw ::flashlab::Error(std::string("CUDA error in ") + #call + " at " + __FILE__ + ":" + \
                              std::to_string(__LINE__) + ": " +                                 \
                              cudaGetErrorString(flashlab_status_));                            \
  } while (0)

// After a kernel launch: reports bad launch configurations at once (asynchronous faults surface
// at the next synchronizing call, which is checked too).
#define FLASHLAB_CUDA_CHECK_LAUNCH() FLASHLAB_CUDA_CHECK(cudaGetLastError())
