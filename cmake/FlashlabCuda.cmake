# Decides whether cuda/ is built: FLASHLAB_CUDA=AUTO builds it when nvcc is found.
include(CheckLanguage)
set(FLASHLAB_HAVE_CUDA OFF)
if(NOT FLASHLAB_CUDA STREQUAL "OFF")
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # The kernels need sm_80+ (mma.sync bf16, cp.async); the lent GPU is an H100, whose wgmma
    # kernel needs the architecture-specific target sm_90a. CI on 2 cores builds this one
    # architecture only; add e.g. 80 or 86 to the list for other GPUs (they run mma.sync).
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90a)
    endif()
    enable_language(CUDA)
    set(FLASHLAB_HAVE_CUDA ON)
    # CMake 3.25 predates nvcc 13 and does not know its C++20 flag; tell it.
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    list(APPEND CMAKE_CUDA_COMPILE_FEATURES cuda_std_20)
  elseif(FLASHLAB_CUDA STREQUAL "ON")
    message(FATAL_ERROR "FLASHLAB_CUDA=ON but no CUDA compiler (nvcc) was found")
  else()
    message(STATUS "flashlab: nvcc not found, cuda/ is not built (FLASHLAB_CUDA=AUTO)")
  endif()
endif()
