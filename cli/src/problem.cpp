// Shared problem options: CLI11 definitions, validation with option-named messages, the block
// mask (on the tiles, as in FA1 Alg. 5, unless --mask-block is given) and the simulator config.
#include <flashlab/cli/problem.hpp>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <flashlab/cli/terminal.hpp>
#include <flashlab/cli/units.hpp>
#include <flashlab/core/byte_size.hpp>
#include <flashlab/core/dropout.hpp>
#include <flashlab/core/named_block_mask.hpp>
#include <flashlab/core/seed_text.hpp>
#include <flashlab/io/npy.hpp>
#include <flashlab/simulator/algorithms/tiling_fit.hpp>

namespace flashlab::cli {
namespace {

void check_size(int64_t value, const std::string& option) {
  require(value >= 1 && value <= kMaxDimension,
          option + " must be between 1 and 2^30, got " + std::to_string(value));
}

// "64x128" -> {64, 128}; nullopt when it is not two whole numbers joined by 'x'.
std::optional<TileSizes> parse_tile_size(const std::string& text) {
  const size_t x = text.find('x');
  if (x == std::string::npos || x == 0 || x + 1 == text.size()) return std::nullopt;
  const std::string rows = text.substr(0, x), cols = text.substr(x + 1);
  if (rows.find_first_not_of("0123456789") != std::string::npos ||
      cols.find_first_not_of("0123456789") != std::string::npos || rows.size() > 10 ||
      cols.size() > 10)
    return std::nullopt;
  return TileSizes{std::stoll(rows), std::stoll(cols)};
}

// --tiles "flash=64x128,flash2=128x128,flash2-bwd=64x128" into the problem.
void parse_tiles_option(const std::string& text, Problem& p) {
  const std::string accepted = "standard, flash, flash2, flash2-bwd";
  size_t start = 0;
  std::vector<std::string> seen;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    start = comma + 1;
    const size_t eq = item.find('=');
    require(eq != std::string::npos,
            "--tiles: '" + item +
                "' is not ALGORITHM=BRxBC (e.g. --tiles flash=64x128,flash2=128x128)");
    const std::string name = item.substr(0, eq);
    const std::optional<TileSizes> t = parse_tile_size(item.substr(eq + 1));
    require(t.has_value(), "--tiles: '" + item.substr(eq + 1) + "' in '" + item +
                               "' is not BRxBC, two whole numbers joined by x (e.g. 128x64)");
    check_size(t->block_rows, "--tiles " + name + " Br");
    check_size(t->block_cols, "--tiles " + name + " Bc");
    require(std::find(seen.begin(), seen.end(), name) == seen.end(),
            "--tiles: '" + name + "' is given twice");
    seen.push_back(name);
    if (name == "flash2-bwd") {
      p.flash2_backward_tiles = t;
    } else {
      simulator::Algorithm a;
      try {
        a = simulator::algorithm_from_string(name);
      } catch (const Error&) {
        throw Error("--tiles: unknown algorithm '" + name + "' in '" + item +
                    "'; accepted: " + accepted);
      }
      p.algorithm_tiles[a] = *t;
    }
    if (comma == text.size()) break;
  }
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string fixed(double value, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
  return buffer;
}

// A block layout from a .npy file of 0/1 (uint8, bool, int32 or int64), [row_blocks, col_blocks].
// Block sizes: the tiles when the layout has Tr x Tc entries, else --mask-block, else the
// smallest blocks that cover the scores (ceil(seq / blocks)).
BlockMask mask_from_file(const std::string& path, const AttentionShape& shape,
                         const TileSizes& tiles, int64_t mask_block) {
  Tensor<uint8_t> layout;
  try {
    io::NpyReadOptions options;
    options.accepted_dtypes = {"uint8", "bool", "int32", "int64"};
    layout = io::read_tensor<uint8_t>(path, options);
  } catch (const Error& e) {
    throw Error(std::string("--block-sparse: ") + e.what());
  }
  require(layout.dims.size() == 2, "--block-sparse " + path + " has shape " +
                                       dims_to_string(layout.dims) +
                                       "; a block layout is 2-D [row_blocks, col_blocks]");
  const int64_t rows = layout.dims[0], cols = layout.dims[1];
  require(rows >= 1 && cols >= 1,
          "--block-sparse " + path + " has an empty shape " + dims_to_string(layout.dims));
  int64_t br = ceil_div(shape.seq_q, rows), bc = ceil_div(shape.seq_k, cols);
  if (mask_block > 0) {
    br = bc = mask_block;
  } else if (rows == ceil_div(shape.seq_q, tiles.block_rows) &&
             cols == ceil_div(shape.seq_k, tiles.block_cols)) {
    br = tiles.block_rows;
    bc = tiles.block_cols;
  }
  try {
    BlockMask mask = block_sparse_mask(std::move(layout.data), rows, cols, br, bc);
    validate(mask, shape.seq_q, shape.seq_k);
    return mask;
  } catch (const Error& e) {
    throw Error("--block-sparse " + path + ": " + e.what());
  }
}

// A mask holds one byte per block: at most 2^28 blocks (256 MiB), far more than any problem that
// runs in reasonable time needs.
constexpr int64_t kMaxMaskBlocks = int64_t{1} << 28;

// A named pattern on a grid of `tiles` blocks (FA1 Alg. 5: one mask entry per Br x Bc block of S),
// or on square blocks of --mask-block.
BlockMask named_mask(const std::string& pattern, const AttentionShape& shape,
                     const TileSizes& tiles, int64_t mask_block, uint64_t seed) {
  const int64_t rows = ceil_div(shape.seq_q, mask_block > 0 ? mask_block : tiles.block_rows);
  const int64_t cols = ceil_div(shape.seq_k, mask_block > 0 ? mask_block : tiles.block_cols);
  require(double(rows) * double(cols) <= double(kMaxMaskBlocks),
          "--block-sparse " + pattern + " would need " + std::to_string(rows) + " x " +
              std::to_string(cols) + " mask blocks, more than 2^28; use a larger --mask-block " +
              "(or larger tiles) or a shorter sequence");
  try {
    if (mask_block > 0)
      return named_block_mask(pattern, shape.seq_q, shape.seq_k, mask_block, seed);
    BlockMask grid = named_block_mask(pattern, ceil_div(shape.seq_q, tiles.block_rows),
                                      ceil_div(shape.seq_k, tiles.block_cols), 1, seed);
    grid.block_rows = tiles.block_rows;
    grid.block_cols = tiles.block_cols;
    return grid;
  } catch (const Error& e) {
    throw Error(std::string("--block-sparse: ") + e.what());
  }
}

}  // namespace

bool ProblemArgs::given(const std::string& option) const {
  for (const std::string& o : also_given)
    if (o == option) return true;
  return app != nullptr && app->count(option) > 0;
}

void add_problem_options(CLI::App& app, ProblemArgs& a) {
  a.app = &app;
  const std::string sizes = "Problem size";
  app.add_option("--batch", a.batch, "Batch size b (>= 1)")->capture_default_str()->group(sizes);
  app.add_option("--heads", a.heads, "Number of heads h (>= 1)")
      ->capture_default_str()
      ->group(sizes);
  app.add_option("--seq", a.seq, "Sequence length N: sets --seq-q and --seq-k together")
      ->group(sizes);
  app.add_option("--seq-q", a.seq_q, "Query sequence length (rows of Q, O)")
      ->capture_default_str()
      ->group(sizes);
  app.add_option("--seq-k", a.seq_k, "Key/value sequence length (rows of K, V)")
      ->capture_default_str()
      ->group(sizes);
  app.add_option("--head-dim", a.head_dim, "Head dimension d (>= 1)")
      ->capture_default_str()
      ->group(sizes);

  const std::string attention = "Attention options";
  app.add_flag("--causal", a.causal, "Causal mask, top-left aligned (query i sees keys j <= i)")
      ->group(attention);
  app.add_option("--dropout", a.dropout,
                 "Dropout probability P on the attention weights, in [0, 1)")
      ->capture_default_str()
      ->group(attention);
  app.add_option("--seed", a.seed,
                 "Seed of the random inputs, the dropout mask (Philox) and random:DENSITY masks")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& text) {
            return is_seed_text(text) ? std::string()
                                      : "must be a whole number in [0, 2^64), got '" + text + "'";
          },
          "", "non-negative"))
      ->group(attention);
  app.add_option("--block-sparse", a.block_sparse,
                 "Block-sparse mask (FA1 Alg. 5): butterfly, local:W (W blocks each side), "
                 "random:DENSITY, or a .npy 0/1 layout [row_blocks, col_blocks]")
      ->group(attention);
  app.add_option("--mask-block", a.mask_block,
                 "Square mask block size for --block-sparse (default: the tiles Br x Bc, as "
                 "in FA1 Alg. 5)")
      ->group(attention);
  app.add_option("--scale", a.softmax_scale, "Softmax scale tau (default 1/sqrt(head_dim))")
      ->group(attention);

  const std::string machine = "Simulated machine";
  app.add_option("--dtype", a.dtype,
                 "Element type: fp16, bf16 or fp32. Inputs are rounded to it once; the "
                 "simulator's element size follows it (2 or 4 bytes)")
      ->capture_default_str()
      ->group(machine);
  CLI::Option* sram = app.add_option(
      "--sram", a.sram,
      std::string("SRAM size M") +
          (a.sram.empty() ? " (default: the shared memory one block can have on the --gpu preset)"
                          : "") +
          ": " + kByteSizeSyntax);
  sram->group(machine);
  if (!a.sram.empty()) sram->capture_default_str();
  app.add_option("--block-rows", a.block_rows,
                 "Br: rows of a Q/O tile, every algorithm (default: each algorithm's own: FA1's "
                 "rule for flash and standard, FA2's tiles for flash2)")
      ->group(machine);
  app.add_option("--block-cols", a.block_cols, "Bc: rows of a K/V tile, every algorithm")
      ->group(machine);
  app.add_option("--tiles", a.tiles,
                 "Tiles per algorithm, over --block-rows/--block-cols: ALGORITHM=BRxBC,... with "
                 "ALGORITHM standard, flash, flash2 or flash2-bwd (FA2's backward alone), e.g. "
                 "flash=64x128,flash2=128x128")
      ->group(machine);
  app.add_flag("--kept-max", a.kept_max,
               "flash2's forward keeps its running max while no score rises more than 8 ln 2 "
               "above it, and rescales O only when it moves (FA4's conditional rescale, as our "
               "CUDA forward does); the paper's FA2 rescales O at every block")
      ->group(machine);
  app.add_option("--gpu", a.gpu,
                 "GPU preset of the performance model: " + simulator::gpu_preset_names() +
                     " (flashlab info shows their numbers)")
      ->capture_default_str()
      ->group(machine);
}

AttentionShape shape_from_args(const ProblemArgs& a) {
  AttentionShape s{a.batch, a.heads, a.seq_q, a.seq_k, a.head_dim};
  if (a.given("--seq")) {
    check_size(a.seq, "--seq");
    if (!a.given("--seq-q")) s.seq_q = a.seq;
    if (!a.given("--seq-k")) s.seq_k = a.seq;
  }
  check_size(s.batch, "--batch");
  check_size(s.heads, "--heads");
  check_size(s.seq_q, "--seq-q");
  check_size(s.seq_k, "--seq-k");
  check_size(s.head_dim, "--head-dim");
  validate(s);
  return s;
}

Problem resolve_problem(const ProblemArgs& a, const AttentionShape& shape, bool backward) {
  Problem p;
  p.shape = shape;
  validate(p.shape);
  p.dtype = parse_dtype(a.dtype);
  try {
    p.gpu = simulator::gpu_spec_by_name(a.gpu);
  } catch (const Error& e) {
    throw Error(std::string("--gpu: ") + e.what());
  }
  p.sram_bytes = a.sram.empty() ? p.gpu.smem_per_block_bytes : parse_byte_size(a.sram, "--sram");
  p.sram_origin = a.given("--sram") ? "--sram " + format_bytes(double(p.sram_bytes))
                  : !a.sram.empty() ? "the default --sram " + format_bytes(double(p.sram_bytes))
                                    : "the " + p.gpu.name + "'s shared memory per block, " +
                                          format_bytes(double(p.sram_bytes)) + " (no --sram given)";

  require(std::isfinite(a.dropout) && a.dropout >= 0.0 && a.dropout < 1.0,
          "--dropout must be in [0, 1), got " + format_number(a.dropout));
  // Refused here, before any point runs, where 16-bit decisions cannot represent it (core's rule).
  try {
    make_dropout(a.dropout, a.seed);
  } catch (const Error& e) {
    throw Error(std::string("--dropout: ") + e.what());
  }
  p.options.dropout_p = a.dropout;
  p.options.seed = a.seed;
  p.options.causal = a.causal;
  p.kept_max = a.kept_max;
  if (a.softmax_scale) {
    require(std::isfinite(*a.softmax_scale) && *a.softmax_scale > 0.0,
            "--scale must be finite and > 0, got " + format_number(*a.softmax_scale));
    p.options.softmax_scale = a.softmax_scale;
  }

  if (a.given("--block-rows") || a.given("--block-cols")) {
    if (a.given("--block-rows")) check_size(a.block_rows, "--block-rows");
    if (a.given("--block-cols")) check_size(a.block_cols, "--block-cols");
    TileSizes t{a.block_rows, a.block_cols};
    if (!a.given("--block-rows") || !a.given("--block-cols")) {
      p.tiles.reset();
      const TileSizes d = flash_tiles(p, backward);
      if (!a.given("--block-rows")) t.block_rows = d.block_rows;
      if (!a.given("--block-cols")) t.block_cols = d.block_cols;
    }
    p.tiles = t;
  }

  if (!a.tiles.empty()) parse_tiles_option(a.tiles, p);

  if (!a.block_sparse.empty()) {
    if (a.given("--mask-block")) check_size(a.mask_block, "--mask-block");
    const TileSizes tiles = flash_tiles(p, backward);
    p.options.block_mask = ends_with(a.block_sparse, ".npy")
                               ? mask_from_file(a.block_sparse, shape, tiles, a.mask_block)
                               : named_mask(a.block_sparse, shape, tiles, a.mask_block, a.seed);
    const BlockMask& m = *p.options.block_mask;
    p.mask_description = a.block_sparse + " on " + std::to_string(m.row_blocks) + "x" +
                         std::to_string(m.col_blocks) + " blocks of " +
                         std::to_string(m.block_rows) + "x" + std::to_string(m.block_cols) +
                         ", density " + fixed(m.density(), 3);
  } else {
    require(!a.given("--mask-block"), "--mask-block needs --block-sparse");
  }
  validate(p.options, p.shape);
  return p;
}

simulator::SimConfig sim_config(const Problem& p, simulator::Algorithm algorithm, bool backward) {
  simulator::SimConfig c;
  c.algorithm = algorithm;
  c.shape = p.shape;
  c.options = p.options;
  c.sram_bytes = p.sram_bytes;
  c.element_bytes = int(element_bytes(p.dtype));
  c.tiles = p.tiles;
  if (const auto t = p.algorithm_tiles.find(algorithm); t != p.algorithm_tiles.end())
    c.tiles = t->second;
  if (algorithm == simulator::Algorithm::Flash2)
    c.backward_tiles = p.flash2_backward_tiles ? p.flash2_backward_tiles : c.tiles;
  c.counting_only = false;
  c.record_trace = false;
  c.backward = backward;
  c.kept_max = p.kept_max;
  return c;
}

namespace {

// What to change when no tiles fit, naming the options the user gave: "--sram 4.00 KiB",
// "--block-rows 16 --block-cols 32 with --sram 4.00 KiB", or, when the SRAM is a default, the head
// dimension ("--head-dim 100000 with the H100-SXM5-80GB's SRAM per SM, 228.0 KiB (no --sram
// given)").
std::string tiling_options(const Problem& p) {
  if (!p.algorithm_tiles.empty() || p.flash2_backward_tiles) return "--tiles with " + p.sram_origin;
  if (p.tiles)
    return "--block-rows " + std::to_string(p.tiles->block_rows) + " --block-cols " +
           std::to_string(p.tiles->block_cols) + " with " + p.sram_origin;
  return p.sram_origin.rfind("--sram", 0) == 0
             ? p.sram_origin
             : "--head-dim " + std::to_string(p.shape.head_dim) + " with " + p.sram_origin;
}

// The tiles `resolve` picks for `a` on the problem; its refusal names the options at fault.
TileSizes tiles_or_throw(
    const Problem& p, simulator::Algorithm a, bool backward,
    TileSizes (*resolve)(const simulator::SimConfig&) = simulator::resolve_tiles) {
  try {
    return resolve(sim_config(p, a, backward));
  } catch (const Error& e) {
    throw Error(tiling_options(p) + ": " + e.what());
  }
}

}  // namespace

void require_tiles_fit(const Problem& p, const std::vector<simulator::Algorithm>& algorithms,
                       bool backward) {
  for (simulator::Algorithm a : algorithms) {
    tiles_or_throw(p, a, backward);
    // FA2's backward has tiles of its own (flash2-bwd in --tiles).
    if (backward && a == simulator::Algorithm::Flash2)
      tiles_or_throw(p, a, true, simulator::resolve_backward_tiles);
  }
}

TileSizes flash_tiles(const Problem& p, bool backward) {
  return tiles_or_throw(p, simulator::Algorithm::Flash, backward);
}

int64_t rows_without_keys(const Problem& p) {
  if (!p.options.block_mask) return 0;  // causal alone: row r always sees key 0
  const BlockMask& m = *p.options.block_mask;
  int64_t none = 0;
  for (int64_t i = 0; i < m.row_blocks && i * m.block_rows < p.shape.seq_q; ++i) {
    const int64_t r0 = i * m.block_rows, r1 = std::min(p.shape.seq_q, r0 + m.block_rows);
    // The first key an allowed block of this row of blocks offers (blocks past seq_k offer none).
    int64_t first_key = -1;
    for (int64_t j = 0; j < m.col_blocks && j * m.block_cols < p.shape.seq_k && first_key < 0; ++j)
      if (m.layout[size_t(i * m.col_blocks + j)] != 0) first_key = j * m.block_cols;
    if (first_key < 0)
      none += r1 - r0;
    else if (p.options.causal)  // top-left causal: row r sees keys <= r
      none += std::clamp<int64_t>(first_key - r0, 0, r1 - r0);
  }
  return none;
}

void warn_about_mask(const Problem& p, const ProblemArgs& a) {
  const int64_t rows = rows_without_keys(p);
  if (rows > 0)
    print_warning("--block-sparse " + a.block_sparse + " leaves " + std::to_string(rows) + " of " +
                  std::to_string(p.shape.seq_q) +
                  " query rows with no key at all: their output is 0 and their logsumexp -inf" +
                  (p.options.causal ? " (with --causal)" : ""));
}

std::string describe(const Problem& p) {
  const AttentionShape& s = p.shape;
  std::string d = "batch=" + std::to_string(s.batch) + " heads=" + std::to_string(s.heads) +
                  " seq_q=" + std::to_string(s.seq_q) + " seq_k=" + std::to_string(s.seq_k) +
                  " head_dim=" + std::to_string(s.head_dim) + ", " + dtype_name(p.dtype);
  if (p.options.causal) d += ", causal";
  if (p.options.dropout_p > 0)
    d += ", dropout " + fixed(p.options.dropout_p, 3) + " (seed " + std::to_string(p.options.seed) +
         ")";
  if (!p.mask_description.empty()) d += ", block-sparse " + p.mask_description;
  if (p.kept_max) d += ", flash2 keeps its running max";
  d += ", SRAM " + format_bytes(double(p.sram_bytes)) + ", GPU " + p.gpu.name;
  return d;
}

}  // namespace flashlab::cli
