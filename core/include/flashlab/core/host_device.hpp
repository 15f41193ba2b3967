// Marks core functions usable from both host and CUDA device code; plain C++ elsewhere.
#pragma once

#if defined(__CUDACC__)
#define FLASHLAB_HD __host__ __device__ __forceinline__
#else
#define FLASHLAB_HD inline
#endif
