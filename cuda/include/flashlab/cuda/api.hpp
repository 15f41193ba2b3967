// Host API of the CUDA kernels: takes device pointers and the core types, validates every argument,
// launches on a stream and reports any CUDA failure as flashlab::Error. Tensors are row-major
// [batch, heads, seq, head_dim] in device memory; the logsumexp is float [batch, heads, seq_q].
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include <flashlab/core/options.hpp>
#include <flashlab/core/shape.hpp>
#include <flashlab/core/tiling.hpp>

namespace flashlab::cuda {

enum class DType { F16, BF16, F32 };

inline int element_bytes(DType t) {
  return t == DType::F32 ? 4 : 2;
}
std::string to_string(DType t);

// Head dims the fast tensor-core kernels are compiled for.
inline constexpr int kFastHeadDims[] = {32, 64, 96, 128, 256};

// Debug record of the tiles a fused kernel (flash_forward, flash_backward) visits, for tests: when
// not null, [batch * heads][T_r][T_c] bytes of device memory, T_r x T_c the tiles of S cut by the
// kernel's tiles (flash_forward_tiles, flash_backward_tiles), zeroed by the caller. The kernel
// sets tile (i, j) to kTileComputed when it computes the tile without an element mask and to
// kTileMasked with one; a tile it skips stays 0. The other entry points refuse it.
inline constexpr uint8_t kTileComputed = 1, kTileMasked = 2;

// Device pointers of one forward call. q, k, v, o hold elements of the call's dtype.
struct ForwardArgs {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* o = nullptr;
  float* lse = nullptr;
  uint8_t* tile_log = nullptr;  // debug only, see kTileComputed
};

// Device pointers of one backward call (o and lse are the forward's outputs).
struct BackwardArgs {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  const void* o = nullptr;
  const void* d_o = nullptr;
  const float* lse = nullptr;
  void* dq = nullptr;
  void* dk = nullptr;
  void* dv = nullptr;
  uint8_t* tile_log = nullptr;  // debug only, see kTileComputed
};

// The teaching kernel: fp32, FA1 Alg. 1 transcribed line by line (no tensor cores).
void flash_forward_simple(const AttentionShape& shape, const AttentionOptions& options,
                          const ForwardArgs& args, cudaStream_t stream = nullptr);

// Which implementation of a fast fused kernel (forward or backward) runs. Auto: Wgmma where it
// can (an sm_90 GPU, a build for sm_90a, head dim 64, 96, 128 or 256), else MmaSync. Wgmma:
// Hopper's warpgroup instructions (FA3-style overlap of softmax and matrix products; dQ added by
// vector or bulk reductions in the backward); asking for it where it cannot run throws. MmaSync:
// mma.sync tensor cores (FA2), any sm_80+ GPU and every head dim of kFastHeadDims.
//
// The rungs of the kernel ladder (docs/performance.md, "The ladder"), each the wgmma kernel with
// the techniques above it switched off; fp16 or bf16 without dropout; the backward has WgmmaSerial
// (its wgmma kernel on cp.async copies), WgmmaTma (the same on TMA) and WgmmaWarpSpecialized (what
// its Wgmma runs), the forward all of them:
//   WgmmaSerial: the softmax of S_j waits for both products in flight (S_j and P_{j-1} V_{j-1})
//     and the two warpgroups issue their products at will; cp.async copies.
//   WgmmaPingpong: + the warpgroups take turns to issue their products (FA3 §3.1).
//   WgmmaOverlap: + the softmax overlaps P V (FA3 §3.2).
//   WgmmaKeptMax: + the softmax keeps its running max, and O_i unscaled, until a score passes
//     it by 2^8 in P~ (FA4's conditional rescale); it waits for P V first.
//   WgmmaTma: + tiles copied by the TMA engine, arrival signalled on mbarriers.
//   WgmmaWarpSpecialized: + a producer warpgroup issues the copies, registers moved to the
//     consumers (setmaxnreg, FA3 §3.1).
//   WgmmaPersistent: + one thread block per SM looping over the work, heaviest first, in a
//     static order (a snake over the blocks).
//   WgmmaPersistentDynamic: the same, each block drawing its next unit from a counter (FA3's
//     dynamic tile scheduler).
// Wgmma is the rung the forward runs by default: WgmmaWarpSpecialized at d = 96, 128 and 256,
// WgmmaPersistent at d = 64, with dropout too since v29 (fwd_production_rung in flash_fwd.cu,
// measured); the backward's is WgmmaWarpSpecialized, for every dtype, dropout and tile log.
enum class FusedKernel {
  Auto,
  Wgmma,
  MmaSync,
  WgmmaSerial,
  WgmmaPingpong,
  WgmmaOverlap,
  WgmmaKeptMax,
  WgmmaTma,
  WgmmaWarpSpecialized,
  WgmmaPersistent,
  WgmmaPersistentDynamic
};
std::string to_string(FusedKernel k);

// True when FusedKernel::Wgmma can run the forward or the backward (head dim 64, 96, 128 or 256)
// at this head dim on the current GPU and build.
bool wgmma_forward_available(int64_t head_dim);
bool wgmma_backward_available(int64_t head_dim);
// True when the ladder's rungs (FusedKernel::WgmmaSerial ... WgmmaPersistentDynamic; every wgmma
// head dim, 64, 96, 128 and 256, without dropout) can run at this head dim on the current GPU and
// build.
bool wgmma_ladder_available(int64_t head_dim);

// The fast fused forward (FA2 loop order, tensor cores), fp16 or bf16.
void flash_forward(const AttentionShape& shape, const AttentionOptions& options, DType dtype,
                   const ForwardArgs& args, cudaStream_t stream = nullptr,
                   FusedKernel kernel = FusedKernel::Auto);

// The tiles (Br query rows x Bc key rows) the fast kernels use for a head dim, with or without
// dropout: what the simulator needs to predict their HBM traffic. The forward's also depend on
// the call (the wgmma kernel at d = 64 takes wider key blocks without a causal mask where seq_k
// pads them little), so it takes the call's shape and options. Throws for an unsupported head
// dim, or for FusedKernel::Wgmma where it cannot run.
TileSizes flash_forward_tiles(const AttentionShape& shape, const AttentionOptions& options,
                              FusedKernel kernel = FusedKernel::Auto);
TileSizes flash_backward_tiles(int64_t head_dim, bool dropout,
                               FusedKernel kernel = FusedKernel::Auto);

// Whether the forward that runs for this head dim runs its softmax while its tensor cores multiply
// (the warp-specialised rungs, FA3 §3.1): the simulator's performance model then charges the
// longer of the two rather than their sum. Throws as flash_forward_tiles does.
bool flash_forward_overlaps_softmax(int64_t head_dim, bool dropout,
                                    FusedKernel kernel = FusedKernel::Auto);

// Whether that forward keeps its softmax's running max and rescales O only when it moves (the
// wgmma rungs from WgmmaKeptMax on, with or without dropout; FA4's conditional rescale): the
// simulator then runs FA2's forward with SimConfig::kept_max. Throws as flash_forward_tiles does.
bool flash_forward_keeps_max(int64_t head_dim, bool dropout,
                             FusedKernel kernel = FusedKernel::Auto);

// Device bytes flash_backward needs as scratch for a shape: the fp32 dQ accumulator, D =
// rowsum(dO∘O) and the logsumexp in base 2, for seq_q rounded up to a whole query block (and, at
// head dim 96, for the 128 columns of the wgmma kernel's accumulator, whichever kernel runs).
int64_t flash_backward_workspace_bytes(const AttentionShape& shape);

// Whether flash_backward (FusedKernel::Auto) runs a call of this shape, options and dtype in this
// build: true, or false with the reason it would throw in `why` (head dim, dtype, launch limits,
// options). Needs no GPU. Callers ask the kernel rather than a model of it: d = 256 runs, its
// dK/dV split across blocks, although one block's tiles would not fit the shared memory.
bool flash_backward_supports(const AttentionShape& shape, const AttentionOptions& options,
                             DType dtype, std::string* why = nullptr);

// The fast fused backward (FA2 Alg. 2: FA1 Alg. 4 with the logsumexp), fp16 or bf16. `workspace`
// must hold flash_backward_workspace_bytes(shape) bytes of device memory.
void flash_backward(const AttentionShape& shape, const AttentionOptions& options, DType dtype,
                    const BackwardArgs& args, void* workspace, cudaStream_t stream = nullptr,
                    FusedKernel kernel = FusedKernel::Auto);

// Device bytes the naive baseline needs for S and P (and dP, dS in the backward): O(N^2).
int64_t naive_workspace_bytes(const AttentionShape& shape, DType dtype, bool backward);

// Standard attention as a framework runs it: cuBLAS GEMMs, separate mask/softmax/dropout kernels,
// S and P materialized in `workspace` (FA1 Alg. 0 / FA1 Alg. 3). Like a framework's autograd, the
// backward reuses the P that the forward left in the workspace: call naive_forward first, with
// a workspace of naive_workspace_bytes(shape, dtype, true) bytes.
void naive_forward(const AttentionShape& shape, const AttentionOptions& options, DType dtype,
                   const ForwardArgs& args, void* workspace, cudaStream_t stream = nullptr);
void naive_backward(const AttentionShape& shape, const AttentionOptions& options, DType dtype,
                    const BackwardArgs& args, void* workspace, cudaStream_t stream = nullptr);

// How dropout_keep_mask computes the mask: one element per thread (core's dropout_keep, as the
// naive and teaching kernels do), or as the fused kernels hold P in mma fragments, each Philox
// call shared by the lanes that read it (cuda/src/dropout_bits.cuh): the forward's S (rows of
// queries) or the backward's S^T (rows of keys).
enum class DropoutMaskPath { Element, ForwardFragments, BackwardFragments };

// Debug path: writes the dropout keep decision (1 = kept) of every element of head (batch, head)
// to `keep` (seq_q x seq_k bytes of device memory), computed on the GPU by the kernels' functions
// (`path`).
void dropout_keep_mask(const AttentionShape& shape, const AttentionOptions& options, int64_t batch,
                       int64_t head, uint8_t* keep, cudaStream_t stream = nullptr,
                       DropoutMaskPath path = DropoutMaskPath::Element);

// The GPU that calls run on, or why there is none.
struct DeviceInfo {
  bool available = false;
  std::string reason;  // why no GPU is usable, when !available
  std::string name;
  int sm_count = 0;
  int compute_major = 0, compute_minor = 0;
  int64_t memory_bytes = 0;
  int64_t shared_memory_per_block_optin = 0;
};
DeviceInfo device_info();

}  // namespace flashlab::cuda
