// Named wrappers around Hopper's warpgroup instructions (sm_90a): wgmma.mma_async and its
// fences, shared-memory matrix descriptors, and the 128-byte swizzled tile layout they read.
// Semantics follow the PTX ISA, "Asynchronous Warpgroup Level Matrix Multiply-Accumulate"
// (wgmma): a warpgroup (4 consecutive warps, 128 threads) computes D[64 x N] += A[64 x 16] B[16 x
// N] asynchronously; warp w of the group holds rows 16w..16w+15 of D in the same fragment layout as
// mma.m16n8 (mma.cuh), repeated over the N/8 column tiles.
//
// The body of every wrapper is compiled only for sm_90a (__CUDA_ARCH_FEAT_SM90_ALL): the kernels
// that use them are launched only on such a GPU (flash_fwd.cu checks).
#pragma once

#include <cstdint>
#include <type_traits>

#include "mma.cuh"

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define FLASHLAB_WGMMA_ENABLED 1
#else
#define FLASHLAB_WGMMA_ENABLED 0
#endif

namespace flashlab::cuda::wgmma {

// A tile of kRows rows x kCols 16-bit elements in shared memory, in the layout wgmma reads with
// the 128-byte swizzle: the columns are cut into panels of 64 (one 128-byte row each); a panel
// stores its kRows rows contiguously, and within each group of 8 rows (1024 bytes, the swizzle
// atom) the 16-byte chunk c of row r sits at chunk position c ^ (r % 8). The XOR spreads the 8
// rows that one 16-byte column chunk touches over all 32 banks, so the copies that fill the tile
// and the tensor cores that read it are free of bank conflicts. Tiles must start 1024-aligned.
template <int kRows>
__device__ __forceinline__ int swizzled_offset(int row, int col) {
  return (col / 64) * (kRows * 64) + row * 64 + ((((col % 64) / 8) ^ (row % 8)) * 8) + col % 8;
}

// Shared-memory matrix descriptor (PTX ISA "Matrix Descriptor Format"): start address, leading
// and stride byte offsets (all >> 4), swizzle mode 1 = 128 bytes. The stride byte offset is the
// 1024-byte step between groups of 8 rows. The leading byte offset matters only for an MN-major
// operand wider than one 64-column panel (V in P V at d = 128): the step from one panel to the
// next, kRows * 128 bytes; K-major operands ignore it.
__device__ __forceinline__ uint64_t descriptor(const void* smem, uint32_t panel_bytes = 1024) {
  constexpr uint64_t kGroupStride = 1024 >> 4;
  return uint64_t((ptx::smem_address(smem) & 0x3FFFF) >> 4) |
         (uint64_t((panel_bytes >> 4) & 0x3FFF) << 16) | (kGroupStride << 32) | (uint64_t(1) << 62);
}

// The descriptor of the same layout `elements` 16-bit elements further on in shared memory. The
// start address field counts 16-byte units in its low 14 bits, which all of shared memory fits,
// so an offset inside the tile adds without carrying into the other fields: a kernel builds the
// descriptor of each tile once and steps through it with constant offsets.
__device__ __forceinline__ uint64_t advance(uint64_t desc, int elements) {
  return desc + uint64_t(elements * 2 / 16);
}

// Orders this thread's register and shared-memory accesses before the wgmma that follow
// (required before the first wgmma and after touching its accumulator or A registers).
__device__ __forceinline__ void fence() {
#if FLASHLAB_WGMMA_ENABLED
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
// Closes the group of wgmma issued since the last commit.
__device__ __forceinline__ void commit() {
#if FLASHLAB_WGMMA_ENABLED
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}
// Waits until at most kPending committed groups are still running.
template <int kPending>
__device__ __forceinline__ void wait() {
#if FLASHLAB_WGMMA_ENABLED
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory");
#endif
}
// Makes shared memory written by ordinary stores and cp.async visible to wgmma, which reads it
// through the async proxy.
__device__ __forceinline__ void fence_shared_for_async_proxy() {
#if FLASHLAB_WGMMA_ENABLED
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}

// The compiler does not know that wgmma reads and writes registers asynchronously. Pinning
// registers after a wait keeps it from touching accumulators before the product is done (or
// reusing A registers meanwhile); pinning values before a wait keeps the work that produced them
// ahead of the wait, where it overlaps the product, instead of sunk below it.
template <int kTiles>
__device__ __forceinline__ void pin(float (&d)[kTiles][4]) {
#pragma unroll
  for (int t = 0; t < kTiles; ++t)
#pragma unroll
    for (int e = 0; e < 4; ++e) asm volatile("" : "+f"(d[t][e])::"memory");
}
template <int kRows>
__device__ __forceinline__ void pin(float (&x)[kRows][2]) {
#pragma unroll
  for (int r = 0; r < kRows; ++r)
#pragma unroll
    for (int e = 0; e < 2; ++e) asm volatile("" : "+f"(x[r][e])::"memory");
}
template <int kWords>
__device__ __forceinline__ void pin(uint32_t (&w)[kWords]) {
#pragma unroll
  for (int i = 0; i < kWords; ++i) asm volatile("" : "+r"(w[i])::"memory");
}
template <int kTiles>
__device__ __forceinline__ void pin(uint32_t (&a)[kTiles][4]) {
#pragma unroll
  for (int t = 0; t < kTiles; ++t)
#pragma unroll
    for (int e = 0; e < 4; ++e) asm volatile("" : "+r"(a[t][e])::"memory");
}

// The accumulator operands of a wgmma: register i of D is asm operand %i, and is d[i / 4][i % 4]
// (the fragment order above). N / 2 registers: 32 for N = 64, 64 for N = 128, 80 for N = 160.
// The lists are built from runs of 16 operands (OPS) and of four 8-column tiles (TILES4).
#define FLASHLAB_WGMMA_OPS0 "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15"
#define FLASHLAB_WGMMA_OPS1 \
  "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31"
#define FLASHLAB_WGMMA_OPS2 \
  "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47"
#define FLASHLAB_WGMMA_OPS3 \
  "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63"
#define FLASHLAB_WGMMA_OPS4 \
  "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79"
#define FLASHLAB_WGMMA_REGS16 "{" FLASHLAB_WGMMA_OPS0 "}"
#define FLASHLAB_WGMMA_REGS32 "{" FLASHLAB_WGMMA_OPS0 ", " FLASHLAB_WGMMA_OPS1 "}"
#define FLASHLAB_WGMMA_REGS64                                               \
  "{" FLASHLAB_WGMMA_OPS0 ", " FLASHLAB_WGMMA_OPS1 ", " FLASHLAB_WGMMA_OPS2 \
  ", " FLASHLAB_WGMMA_OPS3 "}"
#define FLASHLAB_WGMMA_REGS80                                               \
  "{" FLASHLAB_WGMMA_OPS0 ", " FLASHLAB_WGMMA_OPS1 ", " FLASHLAB_WGMMA_OPS2 \
  ", " FLASHLAB_WGMMA_OPS3 ", " FLASHLAB_WGMMA_OPS4 "}"
#define FLASHLAB_WGMMA_TILE(d, t) "+f"(d[t][0]), "+f"(d[t][1]), "+f"(d[t][2]), "+f"(d[t][3])
#define FLASHLAB_WGMMA_TILES4(d, t)                                                        \
  FLASHLAB_WGMMA_TILE(d, t), FLASHLAB_WGMMA_TILE(d, t + 1), FLASHLAB_WGMMA_TILE(d, t + 2), \
      FLASHLAB_WGMMA_TILE(d, t + 3)
#define FLASHLAB_WGMMA_ACC16(d) FLASHLAB_WGMMA_TILES4(d, 0)
#define FLASHLAB_WGMMA_ACC32(d) FLASHLAB_WGMMA_ACC16(d), FLASHLAB_WGMMA_TILES4(d, 4)
#define FLASHLAB_WGMMA_ACC64(d) \
  FLASHLAB_WGMMA_ACC32(d), FLASHLAB_WGMMA_TILES4(d, 8), FLASHLAB_WGMMA_TILES4(d, 12)
#define FLASHLAB_WGMMA_ACC80(d) FLASHLAB_WGMMA_ACC64(d), FLASHLAB_WGMMA_TILES4(d, 16)

// D (+)= A B, A and B from shared memory. SHAPE "m64nNk16"; REGS/ACC the accumulator lists above;
// DESCS and PRED name the operands after them: desc_a, desc_b, then `accumulate` (0 overwrites).
// TRANS: the transpose flags of A and B, "0, 0" for K-major, "1, 1" for MN-major operands.
#define FLASHLAB_WGMMA_SS(SHAPE, TYPE, REGS, ACC, DESCS, PRED, TRANS)                          \
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, " PRED                                        \
               ", 0;\n"                                                                        \
               "wgmma.mma_async.sync.aligned." SHAPE ".f32." TYPE "." TYPE " " REGS ", " DESCS \
               ", p, 1, 1, " TRANS ";\n}\n"                                                    \
               : ACC                                                                           \
               : "l"(desc_a), "l"(desc_b), "r"(accumulate))
// D (+)= A B, A from registers (four 32-bit fragments), B from shared memory, transposed
// (MN-major). A_DESC names the A fragments and desc_b, PRED then `accumulate`.
#define FLASHLAB_WGMMA_RS(SHAPE, TYPE, REGS, ACC, A_DESC, PRED)                                 \
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, " PRED                                         \
               ", 0;\n"                                                                         \
               "wgmma.mma_async.sync.aligned." SHAPE ".f32." TYPE "." TYPE " " REGS ", " A_DESC \
               ", p, 1, 1, 1;\n}\n"                                                             \
               : ACC                                                                            \
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(accumulate))
#define FLASHLAB_WGMMA_SS_N32(TYPE, TRANS)                                                         \
  FLASHLAB_WGMMA_SS("m64n32k16", TYPE, FLASHLAB_WGMMA_REGS16, FLASHLAB_WGMMA_ACC16(d), "%16, %17", \
                    "%18", TRANS)
#define FLASHLAB_WGMMA_SS_N64(TYPE, TRANS)                                                         \
  FLASHLAB_WGMMA_SS("m64n64k16", TYPE, FLASHLAB_WGMMA_REGS32, FLASHLAB_WGMMA_ACC32(d), "%32, %33", \
                    "%34", TRANS)
#define FLASHLAB_WGMMA_SS_N128(TYPE, TRANS)                                             \
  FLASHLAB_WGMMA_SS("m64n128k16", TYPE, FLASHLAB_WGMMA_REGS64, FLASHLAB_WGMMA_ACC64(d), \
                    "%64, %65", "%66", TRANS)
#define FLASHLAB_WGMMA_SS_N160(TYPE, TRANS)                                             \
  FLASHLAB_WGMMA_SS("m64n160k16", TYPE, FLASHLAB_WGMMA_REGS80, FLASHLAB_WGMMA_ACC80(d), \
                    "%80, %81", "%82", TRANS)
#define FLASHLAB_WGMMA_RS_N32(TYPE)                                                    \
  FLASHLAB_WGMMA_RS("m64n32k16", TYPE, FLASHLAB_WGMMA_REGS16, FLASHLAB_WGMMA_ACC16(d), \
                    "{%16, %17, %18, %19}, %20", "%21")
#define FLASHLAB_WGMMA_RS_N64(TYPE)                                                    \
  FLASHLAB_WGMMA_RS("m64n64k16", TYPE, FLASHLAB_WGMMA_REGS32, FLASHLAB_WGMMA_ACC32(d), \
                    "{%32, %33, %34, %35}, %36", "%37")
#define FLASHLAB_WGMMA_RS_N128(TYPE)                                                    \
  FLASHLAB_WGMMA_RS("m64n128k16", TYPE, FLASHLAB_WGMMA_REGS64, FLASHLAB_WGMMA_ACC64(d), \
                    "{%64, %65, %66, %67}, %68", "%69")

// D[64 x kN] (+)= A[64 x 16] B[16 x kN]; A and B in shared memory, both K-major (a row of A or of
// B^T holds consecutive k), as Q and K tiles are for S = Q K^T; or, with kMNMajor, both MN-major
// (a row of A^T or of B holds consecutive m or n), as dS^T and K tiles are for dQ = dS K; or,
// with kMNMajorB alone, A K-major and B MN-major, as dS^T and Q tiles are for dK = dS^T Q.
// `accumulate` = 0 overwrites D.
template <typename Elem, int kN, bool kMNMajor = false, bool kMNMajorB = kMNMajor>
__device__ __forceinline__ void mma_ss(float (&d)[kN / 8][4], uint64_t desc_a, uint64_t desc_b,
                                       int accumulate) {
#if FLASHLAB_WGMMA_ENABLED
  static_assert(kN == 32 || kN == 64 || kN == 128 || kN == 160,
                "instantiate the operand list for this N");
  constexpr bool kHalf = std::is_same_v<Elem, __half>;
#define FLASHLAB_WGMMA_SS_ANY(TRANS)                                        \
  if constexpr (kN == 32 && kHalf) FLASHLAB_WGMMA_SS_N32("f16", TRANS);     \
  if constexpr (kN == 32 && !kHalf) FLASHLAB_WGMMA_SS_N32("bf16", TRANS);   \
  if constexpr (kN == 64 && kHalf) FLASHLAB_WGMMA_SS_N64("f16", TRANS);     \
  if constexpr (kN == 64 && !kHalf) FLASHLAB_WGMMA_SS_N64("bf16", TRANS);   \
  if constexpr (kN == 128 && kHalf) FLASHLAB_WGMMA_SS_N128("f16", TRANS);   \
  if constexpr (kN == 128 && !kHalf) FLASHLAB_WGMMA_SS_N128("bf16", TRANS); \
  if constexpr (kN == 160 && kHalf) FLASHLAB_WGMMA_SS_N160("f16", TRANS);   \
  if constexpr (kN == 160 && !kHalf) FLASHLAB_WGMMA_SS_N160("bf16", TRANS);
  static_assert(kMNMajorB || !kMNMajor, "A MN-major needs B MN-major: no use for it yet");
  if constexpr (kMNMajor) {
    FLASHLAB_WGMMA_SS_ANY("1, 1")
  } else if constexpr (kMNMajorB) {
    FLASHLAB_WGMMA_SS_ANY("0, 1")
  } else {
    FLASHLAB_WGMMA_SS_ANY("0, 0")
  }
#undef FLASHLAB_WGMMA_SS_ANY
#endif
}

// D[64 x kN] (+)= A[64 x 16] B[16 x kN]; A in registers (the mma.m16n8k16 A fragment of the
// warp's 16 rows), B in shared memory MN-major (a row of B holds consecutive n), as a V tile is
// for P V.
template <typename Elem, int kN>
__device__ __forceinline__ void mma_rs(float (&d)[kN / 8][4], const uint32_t (&a)[4],
                                       uint64_t desc_b, int accumulate) {
#if FLASHLAB_WGMMA_ENABLED
  static_assert(kN == 32 || kN == 64 || kN == 128, "instantiate the operand list for this N");
  constexpr bool kHalf = std::is_same_v<Elem, __half>;
  if constexpr (kN == 32 && kHalf) FLASHLAB_WGMMA_RS_N32("f16");
  if constexpr (kN == 32 && !kHalf) FLASHLAB_WGMMA_RS_N32("bf16");
  if constexpr (kN == 64 && kHalf) FLASHLAB_WGMMA_RS_N64("f16");
  if constexpr (kN == 64 && !kHalf) FLASHLAB_WGMMA_RS_N64("bf16");
  if constexpr (kN == 128 && kHalf) FLASHLAB_WGMMA_RS_N128("f16");
  if constexpr (kN == 128 && !kHalf) FLASHLAB_WGMMA_RS_N128("bf16");
#endif
}

// D[64 x kCols] (+)= A B over kCols columns of an MN-major B (a V, dO or Q tile) whose 64-column
// panels lie panel_elements apart (desc_b's leading byte offset): wgmma of 128 columns (two
// panels each) where kCols is a multiple of 128, one of 64 at kCols = 64, and at kCols = 96 one of
// 64 and one of 32. 96 is d = 96 on the d = 128 kernels' tiles: the zero columns that TMA pads
// past d are then not multiplied (v21: they were a quarter of P V's, dV's and dK's products).
template <typename Elem, int kCols>
__device__ __forceinline__ void mma_rs_columns(float (&d)[kCols / 8][4], const uint32_t (&a)[4],
                                               uint64_t desc_b, int panel_elements) {
  static_assert(kCols == 64 || kCols == 96 || kCols % 128 == 0, "no split for these columns");
  using Tiles16 = float[16][4];
  if constexpr (kCols % 128 == 0) {
#pragma unroll
    for (int c = 0; c < kCols; c += 128)
      mma_rs<Elem, 128>(*reinterpret_cast<Tiles16*>(&d[c / 8]), a,
                        advance(desc_b, c / 64 * panel_elements), 1);
  } else {
    mma_rs<Elem, 64>(*reinterpret_cast<float(*)[8][4]>(&d[0]), a, desc_b, 1);
    if constexpr (kCols == 96)
      mma_rs<Elem, 32>(*reinterpret_cast<float(*)[4][4]>(&d[8]), a, advance(desc_b, panel_elements),
                       1);
  }
}

#undef FLASHLAB_WGMMA_SS_N32
#undef FLASHLAB_WGMMA_SS_N64
#undef FLASHLAB_WGMMA_RS_N32
#undef FLASHLAB_WGMMA_RS_N64
#undef FLASHLAB_WGMMA_SS_N128
#undef FLASHLAB_WGMMA_SS_N160
#undef FLASHLAB_WGMMA_RS_N128
#undef FLASHLAB_WGMMA_SS
#undef FLASHLAB_WGMMA_RS
#undef FLASHLAB_WGMMA_ACC80
#undef FLASHLAB_WGMMA_ACC64
#undef FLASHLAB_WGMMA_ACC32
#undef FLASHLAB_WGMMA_ACC16
#undef FLASHLAB_WGMMA_REGS80
#undef FLASHLAB_WGMMA_REGS64
#undef FLASHLAB_WGMMA_REGS32
#undef FLASHLAB_WGMMA_REGS16
#undef FLASHLAB_WGMMA_TILES4
#undef FLASHLAB_WGMMA_TILE
#undef FLASHLAB_WGMMA_OPS0
#undef FLASHLAB_WGMMA_OPS1
#undef FLASHLAB_WGMMA_OPS2
#undef FLASHLAB_WGMMA_OPS3
#undef FLASHLAB_WGMMA_OPS4

}  // namespace flashlab::cuda::wgmma
