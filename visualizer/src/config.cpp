// VizConfig -> SimConfig: validation with one-line messages, and the block-sparse mask.
#include <flashlab/viz/config.hpp>

#include <cmath>
#include <cstdio>

#include <flashlab/core/named_block_mask.hpp>

namespace flashlab::viz {

namespace {
struct AlgorithmInfo {
  VizAlgorithm algorithm;
  const char* name;
  const char* label;
};
constexpr AlgorithmInfo kInfo[] = {
    {VizAlgorithm::Standard, "standard", "Standard attention forward (FA1 Alg. 0)"},
    {VizAlgorithm::Flash, "flash", "FlashAttention forward (FA1 Alg. 2)"},
    {VizAlgorithm::FlashBackward, "flash-backward", "FlashAttention backward (FA1 Alg. 4)"},
    {VizAlgorithm::Flash2, "flash2", "FlashAttention-2 forward (FA2 Alg. 1)"},
    {VizAlgorithm::Flash2Backward, "flash2-backward", "FlashAttention-2 backward (FA2 Alg. 2)"},
    {VizAlgorithm::BlockSparse, "block-sparse", "Block-sparse FlashAttention (FA1 Alg. 5)"},
    {VizAlgorithm::StandardBackward, "standard-backward",
     "Standard attention backward (FA1 Alg. 3)"},
};

const AlgorithmInfo& info(VizAlgorithm a) {
  for (const AlgorithmInfo& i : kInfo)
    if (i.algorithm == a) return i;
  return kInfo[0];
}

constexpr int64_t kMaxSeq = 65536;
constexpr int64_t kMaxHeadDim = 1024;
}  // namespace

const char* to_string(VizAlgorithm a) {
  return info(a).name;
}
const char* display_name(VizAlgorithm a) {
  return info(a).label;
}

VizAlgorithm algorithm_from_string(std::string_view name) {
  std::string accepted;
  for (const AlgorithmInfo& i : kInfo) {
    if (name == i.name) return i.algorithm;
    accepted += (accepted.empty() ? "" : ", ") + std::string(i.name);
  }
  throw Error("unknown algorithm '" + std::string(name) + "'; accepted: " + accepted);
}

bool is_backward(VizAlgorithm a) {
  return a == VizAlgorithm::FlashBackward || a == VizAlgorithm::StandardBackward ||
         a == VizAlgorithm::Flash2Backward;
}

simulator::Algorithm sim_algorithm(VizAlgorithm a) {
  switch (a) {
    case VizAlgorithm::Standard:
    case VizAlgorithm::StandardBackward:
      return simulator::Algorithm::Standard;
    case VizAlgorithm::Flash2:
    case VizAlgorithm::Flash2Backward:
      return simulator::Algorithm::Flash2;
    case VizAlgorithm::Flash:
    case VizAlgorithm::FlashBackward:
    case VizAlgorithm::BlockSparse:
      break;
  }
  return simulator::Algorithm::Flash;
}

std::string sparse_pattern(const VizConfig& config) {
  if (!config.sparse.empty()) return config.sparse;
  return config.algorithm == VizAlgorithm::BlockSparse ? kDefaultSparsePattern : "";
}

namespace {

std::string number_text(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", x);
  return text;
}

}  // namespace

simulator::SimConfig to_sim_config(const VizConfig& config) {
  require(config.seq >= 1 && config.seq <= kMaxSeq, "N (--seq) must be between 1 and " +
                                                        std::to_string(kMaxSeq) + ", got " +
                                                        std::to_string(config.seq));
  require(config.head_dim >= 1 && config.head_dim <= kMaxHeadDim,
          "d (--head-dim) must be between 1 and " + std::to_string(kMaxHeadDim) + ", got " +
              std::to_string(config.head_dim));
  require(config.sram_bytes >= 1,
          "SRAM size (--sram) must be at least 1 byte, got " + std::to_string(config.sram_bytes));
  require(std::isfinite(config.dropout) && config.dropout >= 0.0 && config.dropout < 1.0,
          "dropout (--dropout) must be in [0, 1), got " + number_text(config.dropout));
  require(
      !config.kept_max || config.algorithm == VizAlgorithm::Flash2,
      "--kept-max is for flash2 (FA2's forward), not " + std::string(to_string(config.algorithm)));
  if (config.tiles) {
    try {
      validate(*config.tiles);
    } catch (const Error& e) {
      throw Error(std::string("tiles (--block-rows, --block-cols): ") + e.what());
    }
  }

  simulator::SimConfig c;
  c.algorithm = sim_algorithm(config.algorithm);
  c.backward = is_backward(config.algorithm);
  c.shape = {1, 1, config.seq, config.seq, config.head_dim};
  c.options.causal = config.causal;
  c.options.dropout_p = config.dropout;
  c.options.seed = config.seed;
  c.kept_max = config.kept_max;
  c.sram_bytes = config.sram_bytes;
  c.tiles = config.tiles;
  // FA2's backward has tiles of its own: the replayed pass (the backward) takes the ones given.
  const bool fa2_backward = config.algorithm == VizAlgorithm::Flash2Backward;
  if (fa2_backward) c.backward_tiles = config.tiles;
  c.counting_only = config.seq > kMaxArithmeticSeq;
  c.record_trace = true;
  // Resolve the tiles first: the mask has one entry per tile, and the trace budget counts tiles.
  TileSizes tiles;
  try {
    tiles = fa2_backward ? simulator::resolve_backward_tiles(c) : simulator::resolve_tiles(c);
  } catch (const Error& e) {
    throw Error((config.tiles ? "tiles " + std::to_string(config.tiles->block_rows) + " x " +
                                    std::to_string(config.tiles->block_cols) +
                                    " (--block-rows, --block-cols) with "
                              : std::string()) +
                "SRAM " + format_bytes(config.sram_bytes) + " (--sram): " + e.what());
  }
  const int64_t Tr = ceil_div(config.seq, tiles.block_rows);
  const int64_t Tc = ceil_div(config.seq, tiles.block_cols);
  if (Tr * Tc > kMaxTraceBlocks) {
    // Square tiles of side B give (N/B)^2 blocks: the smallest B that fits the budget.
    const auto side = int64_t(std::ceil(double(config.seq) / std::sqrt(double(kMaxTraceBlocks))));
    throw Error("N=" + std::to_string(config.seq) + " with " + std::to_string(tiles.block_rows) +
                " x " + std::to_string(tiles.block_cols) + " tiles has " + std::to_string(Tr) +
                " x " + std::to_string(Tc) + " = " + std::to_string(Tr * Tc) +
                " blocks; the visualizer replays at most " + std::to_string(kMaxTraceBlocks) +
                " (use tiles of at least " + std::to_string(side) + " x " + std::to_string(side) +
                ", a smaller N, or `flashlab compare` for the counts)");
  }
  const std::string pattern = sparse_pattern(config);
  if (!pattern.empty()) {
    try {
      BlockMask grid = named_block_mask(pattern, Tr, Tc, 1, config.seed);
      grid.block_rows = tiles.block_rows;
      grid.block_cols = tiles.block_cols;
      c.options.block_mask = std::move(grid);
    } catch (const Error& e) {
      throw Error(std::string("sparsity pattern (--sparse): ") + e.what());
    }
  }
  (fa2_backward ? c.backward_tiles : c.tiles) = tiles;
  validate(c.options, c.shape);
  return c;
}

std::string format_bytes(int64_t bytes) {
  char buf[48];
  const double b = double(bytes);
  if (bytes < 1024)
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  else if (b < 1024.0 * 1024.0)
    std::snprintf(buf, sizeof buf, "%.4g KiB", b / 1024.0);
  else if (b < 1024.0 * 1024.0 * 1024.0)
    std::snprintf(buf, sizeof buf, "%.4g MiB", b / (1024.0 * 1024.0));
  else
    std::snprintf(buf, sizeof buf, "%.4g GiB", b / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

std::string describe(const VizConfig& config, const TileSizes& tiles) {
  std::string s =
      std::string(to_string(config.algorithm)) + ", N=" + std::to_string(config.seq) +
      ", d=" + std::to_string(config.head_dim) + ", M=" + format_bytes(config.sram_bytes) +
      ", Br x Bc = " + std::to_string(tiles.block_rows) + " x " + std::to_string(tiles.block_cols);
  if (!config.tiles) s += " (paper rule)";
  if (config.causal) s += ", causal";
  if (config.kept_max) s += ", kept max";
  if (config.dropout > 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, ", dropout %.2g", config.dropout);
    s += buf;
  }
  const std::string pattern = sparse_pattern(config);
  if (!pattern.empty()) s += ", sparse " + pattern;
  return s;
}

}  // namespace flashlab::viz
