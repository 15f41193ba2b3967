// The visualizer's controls as plain data (VizConfig), the algorithms a student can pick, and
// their translation into a simulator run (SimConfig) with its block-sparse mask (FA1 Alg. 5).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <flashlab/core/tiling.hpp>
#include <flashlab/simulator/simulate.hpp>

namespace flashlab::viz {

// What the student can run. BlockSparse is FlashAttention's forward with a sparsity pattern
// (FA1 Alg. 5); a pattern may also be given to the other algorithms.
enum class VizAlgorithm : uint8_t {
  Standard,          // FA1 Alg. 0
  Flash,             // FA1 Alg. 2 (FA1 Alg. 5 when causal or sparse)
  FlashBackward,     // FA1 Alg. 4
  Flash2,            // FA2 Alg. 1 (forward loop order swapped)
  BlockSparse,       // FA1 Alg. 5
  StandardBackward,  // FA1 Alg. 3
  Flash2Backward,    // FA2 Alg. 2
};

inline constexpr VizAlgorithm kAlgorithms[] = {
    VizAlgorithm::Standard,      VizAlgorithm::Flash,       VizAlgorithm::FlashBackward,
    VizAlgorithm::Flash2,        VizAlgorithm::BlockSparse, VizAlgorithm::StandardBackward,
    VizAlgorithm::Flash2Backward};

// The command-line name: "standard", "flash", "flash-backward", "flash2", "flash2-backward",
// "block-sparse", "standard-backward".
const char* to_string(VizAlgorithm a);
// The label shown in the controls, e.g. "FlashAttention forward (FA1 Alg. 2)".
const char* display_name(VizAlgorithm a);
// Inverse of to_string; throws flashlab::Error listing the accepted names.
VizAlgorithm algorithm_from_string(std::string_view name);

bool is_backward(VizAlgorithm a);
simulator::Algorithm sim_algorithm(VizAlgorithm a);

// The sparsity pattern used when BlockSparse is chosen without one.
inline constexpr const char* kDefaultSparsePattern = "butterfly";

struct VizConfig {
  VizAlgorithm algorithm = VizAlgorithm::Flash;
  int64_t seq = 256;      // N (seq_q = seq_k; batch = heads = 1)
  int64_t head_dim = 32;  // d
  // M in bytes. 16.5 KiB is what the paper's rule needs for B_r x B_c = 32 x 64 tiles at d = 32
  // (all of FA1 Alg. 2's tiles resident: 2 B_c d + 2 B_r d + B_r B_c + 8 B_r = 8448 elements): an
  // 8 x 4 grid of blocks at N = 256, where FlashAttention moves 3.2x fewer bytes than standard.
  int64_t sram_bytes = 16896;
  std::optional<TileSizes> tiles;  // nullopt: the paper's rule (FA1 Alg. 1 l. 1), shrunk to fit
  bool causal = false;
  double dropout = 0.0;
  std::string sparse;     // "" (dense), "butterfly", "local:W", "random:DENSITY"
  uint64_t seed = 0;      // inputs, dropout mask and random sparsity
  bool kept_max = false;  // flash2 only: keep the running max (simulator::SimConfig::kept_max)

  bool operator==(const VizConfig&) const = default;
};

// Problems the visualizer runs with arithmetic (so the softmax panel has real numbers); larger
// ones run counting-only (exact counts, no values).
inline constexpr int64_t kMaxArithmeticSeq = 2048;
// Upper bound on the T_r x T_c blocks of a replayed trace (about 40 events each: ~650k events,
// ~80 MB). Larger problems are refused with a message that says what would fit.
inline constexpr int64_t kMaxTraceBlocks = 16384;

// The pattern actually used: config.sparse, or kDefaultSparsePattern for BlockSparse.
std::string sparse_pattern(const VizConfig& config);

// The simulator run for config: validates every field and builds the block mask (one mask
// entry per B_r x B_c tile, as `flashlab compare --block-sparse` does). Throws flashlab::Error
// with a one-line explanation for any invalid combination.
simulator::SimConfig to_sim_config(const VizConfig& config);

// One line summary: "flash, N=256, d=64, M=48 KiB, Br x Bc = 64 x 64, causal".
std::string describe(const VizConfig& config, const TileSizes& tiles);

// "48 KiB", "1.5 MiB", "512 B".
std::string format_bytes(int64_t bytes);

}  // namespace flashlab::viz
