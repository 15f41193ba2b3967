// Command-line parsing with CLI11; every problem is reported as one line and exit code 2.
#include "options.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <flashlab/core/byte_size.hpp>
#include <flashlab/core/seed_text.hpp>
#include <fstream>

namespace flashlab::viz::app {

std::variant<AppOptions, int> parse_options(int argc, char** argv) {
  AppOptions o;
  VizConfig& c = o.config;
  CLI::App cli{
      "flashlab-viz: watch FlashAttention's tiles move between HBM and SRAM and the online "
      "softmax rescale, step by step (FA1 Alg. 0 to 5, FA2 Alg. 1).\nKeys: space play/pause, "
      "Left/Right step, Home/End, PageUp/PageDown block, R next rescale, O next write of the "
      "results (O forward, dK and dV backward)."};
  std::string algorithm = to_string(c.algorithm), sram, size, sparse;
  int64_t block_rows = 0, block_cols = 0;
  cli.add_option("--algorithm", algorithm,
                 "standard, flash, flash-backward, flash2, flash2-backward, block-sparse, "
                 "standard-backward")
      ->capture_default_str();
  cli.add_option("--seq", c.seq, "Sequence length N")->capture_default_str();
  cli.add_option("--head-dim", c.head_dim, "Head dimension d")->capture_default_str();
  cli.add_option("--sram", sram, std::string("SRAM size M (default 16.5KiB): ") + kByteSizeSyntax);
  cli.add_option("--block-rows", block_rows, "Br (default: the paper's rule, FA1 Alg. 1 l. 1)");
  cli.add_option("--block-cols", block_cols, "Bc (default: the paper's rule)");
  cli.add_flag("--causal", c.causal, "Causal mask (top-left aligned)");
  cli.add_flag("--kept-max", c.kept_max,
               "flash2: keep the running max while the scores allow, rescaling O only where it "
               "moves (FA4's conditional rescale, as our CUDA forward does)");
  cli.add_option("--dropout", c.dropout, "Dropout probability in [0, 1)")->capture_default_str();
  cli.add_option("--sparse", sparse, "Sparsity pattern: butterfly, local:W, random:DENSITY");
  cli.add_option("--seed", c.seed, "Seed of the inputs, dropout and random sparsity")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& text) {
            return is_seed_text(text) ? std::string()
                                      : "must be a whole number in [0, 2^64), got '" + text + "'";
          },
          "", "non-negative"));
  cli.add_option("--step", o.step,
                 "Start at step K (events applied; default 0, or the middle for --screenshot; "
                 "--compare: aligned loop step K, default the first difference; --softmax-run: "
                 "K blocks merged, default up to the first wrong state)");
  cli.add_option("--row", o.row,
                 "Query row of the online-softmax panel (default: follow); --softmax-run: the "
                 "row shown");
  cli.add_option("--screenshot", o.screenshot, "Render one frame to FILE.png and exit");
  cli.add_option("--size", size, "Window / screenshot size WxH (default 1600x1000)");
  cli.add_option("--trace", o.trace, "Replay a trace saved by `flashlab trace` (JSON)");
  cli.add_option("--compare", o.compare,
                 "With --trace: show this trace beside it (the solution's run), aligned by loop "
                 "step (i, j), from the first step where they differ (flashlab-grade --trace)");
  cli.add_option("--softmax-run", o.softmax_run,
                 "Replay lab 1's online softmax from your code (flashlab-grade 1 --trace FILE)");
  cli.add_option("--benchmark-frames", o.benchmark_frames,
                 "Play for this many frames without vsync, print frame times and exit");
  cli.add_option("--benchmark-load", o.benchmark_load,
                 "Load the --trace file this many times (no window), print load times and exit");
  cli.add_flag("--play", o.play, "Start playing");
  cli.add_flag("--report-state", o.report_state,
               "Print step, playing, softmax row and keys held to stdout whenever they change "
               "(for tests that drive the window)");
  try {
    cli.parse(argc, argv);
    try {
      c.algorithm = algorithm_from_string(algorithm);
    } catch (const Error& e) {
      throw Error(std::string("--algorithm: ") + e.what());
    }
    if (!sram.empty()) {
      try {
        c.sram_bytes = parse_byte_size(sram);
      } catch (const Error& e) {
        throw Error(std::string("--sram: ") + e.what());
      }
    }
    if (block_rows != 0 || block_cols != 0) {
      require(block_rows > 0 && block_cols > 0,
              "--block-rows and --block-cols go together and must be >= 1, got " +
                  std::to_string(block_rows) + " and " + std::to_string(block_cols));
      c.tiles = TileSizes{block_rows, block_cols};
    }
    c.sparse = sparse;
    if (!size.empty()) {
      int w = 0, h = 0;
      char tail = 0;
      require(std::sscanf(size.c_str(), "%dx%d%c", &w, &h, &tail) == 2 && w >= 200 && h >= 150 &&
                  w <= 8192 && h <= 8192,
              "--size: expected WxH between 200x150 and 8192x8192, got '" + size + "'");
      o.width = w, o.height = h;
    }
    require(o.benchmark_frames >= 0,
            "--benchmark-frames must be >= 0, got " + std::to_string(o.benchmark_frames));
    require(o.benchmark_load >= 0,
            "--benchmark-load must be >= 0, got " + std::to_string(o.benchmark_load));
    require(o.benchmark_load == 0 || !o.trace.empty(),
            "--benchmark-load times loading a trace: give the file with --trace");
    // A screenshot that cannot be written fails now, not after the window is set up.
    if (!o.screenshot.empty()) {
      const bool existed = std::filesystem::exists(o.screenshot);
      std::ofstream probe(o.screenshot, std::ios::app);
      require(bool(probe), "--screenshot: cannot write '" + o.screenshot +
                               "' (missing directory or no permission)");
      probe.close();
      if (!existed) std::filesystem::remove(o.screenshot);
    }
    // -1 is the default of both ("not given"); given, they must be >= 0.
    require(cli.count("--step") == 0 || o.step >= 0,
            "--step must be >= 0, got " + std::to_string(o.step));
    require(cli.count("--row") == 0 || o.row >= 0,
            "--row must be >= 0, got " + std::to_string(o.row));
    require(o.trace.empty() || (cli.count("--seq") + cli.count("--head-dim") + cli.count("--sram") +
                                cli.count("--algorithm") + cli.count("--causal") +
                                cli.count("--dropout") + cli.count("--sparse") +
                                cli.count("--block-rows") + cli.count("--block-cols")) == 0,
            "--trace replays a saved trace: its problem comes from the file, leave out --seq, "
            "--head-dim, --sram, --algorithm, --causal, --dropout, --sparse, --block-rows and "
            "--block-cols");
    require(o.compare.empty() || !o.trace.empty(),
            "--compare shows a second trace beside --trace: give both (--trace yours.json "
            "--compare solution.json)");
    require(o.softmax_run.empty() || (o.trace.empty() && o.compare.empty()),
            "--softmax-run is a view of its own: leave out --trace and --compare");
    require((o.compare.empty() && o.softmax_run.empty()) ||
                (o.benchmark_frames == 0 && o.benchmark_load == 0),
            "--benchmark-frames and --benchmark-load time the replay view, not --compare or "
            "--softmax-run");
  } catch (const CLI::CallForHelp&) {
    std::fputs(cli.help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "flashlab-viz: error: %s (see --help)\n", e.what());
    return 2;
  } catch (const Error& e) {
    std::fprintf(stderr, "flashlab-viz: error: %s\n", e.what());
    return 2;
  }
  return o;
}

}  // namespace flashlab::viz::app
