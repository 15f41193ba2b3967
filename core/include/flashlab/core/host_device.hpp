// Marks core functions usable from both host and CUDA device code; plain C++ elsewhere.
// FLASHLAB_HD_NOINLINE: the same, kept out of line on the device (for rare paths whose inlined
// code would cost registers in the kernels' hot loops).
#pragma once

#if defined(__CUDACC__)
#define FLASHLAB_HD __host__ __device__ __forceinline__
#define FLASHLAB_HD_NOINLINE __host__ __device__ __noinline__
#else
#define FLASHLAB_HD inline
#define FLASHLAB_HD_NOINLINE inline
#endif
