// `flashlab trace`: runs one simulated algorithm with the trace on and writes it as JSON
// (docs/trace-format.md), for the visualizer or for reading step by step.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <flashlab/cli/commands.hpp>
#include <flashlab/cli/inputs.hpp>
#include <flashlab/cli/output_file.hpp>
#include <flashlab/cli/problem.hpp>
#include <flashlab/cli/progress_bar.hpp>
#include <flashlab/cli/terminal.hpp>
#include <flashlab/cli/units.hpp>
#include <flashlab/cli/work_estimate.hpp>
#include <flashlab/simulator/simulate.hpp>
#include <flashlab/simulator/trace/trace_json.hpp>
#include <memory>

namespace flashlab::cli {
namespace {

struct TraceArgs {
  ProblemArgs problem;
  std::string gpu;  // refused: see add_trace_command
  std::string algorithm = "flash";
  bool backward = false;
  bool all_heads = false;
  std::string output = "-";
};

int run_trace_command(const TraceArgs& a) {
  require(!a.problem.given("--gpu"),
          "--gpu: trace takes no GPU preset: a trace records what the simulator does (loads, "
          "stores, computations), not the performance model's prediction, and its SRAM is --sram "
          "(48 KiB by default); compare --why and sweep show predictions");
  simulator::Algorithm algorithm;
  try {
    algorithm = simulator::algorithm_from_string(a.algorithm);
  } catch (const Error& e) {
    throw Error(std::string("--algorithm: ") + e.what());
  }
  check_writable(a.output);
  const AttentionShape shape = shape_from_args(a.problem);
  const Problem problem = resolve_problem(a.problem, shape, a.backward);
  require_tiles_fit(problem, {algorithm}, a.backward);
  // Everything asked for, before any work: every head runs, the trace holds the recorded ones.
  const WorkEstimate work = estimate_trace(problem, algorithm, a.backward, a.all_heads);
  require(work.output_bytes <= double(simulator::kMaxTraceJsonBytes),
          "the trace of " + to_string(shape) + (a.all_heads ? " (--all-heads)" : "") +
              " would be about " + format_bytes(work.output_bytes) +
              " of JSON; traces are limited to 1 GiB, what the visualizer reads. Trace " +
              (a.all_heads ? "the first head only (no --all-heads), " : "") +
              "a shorter --seq or larger tiles (--sram, --block-rows, --block-cols)");
  require_feasible(work, "trace of " + to_string(shape));
  warn_about_mask(problem, a.problem);

  ProgressBar bar(work.step_seconds(), show_progress(work, "the trace of " + to_string(shape)));
  bar.update(0, "random inputs");
  const Inputs in = random_inputs(shape, a.problem.seed, a.backward, problem.dtype);
  const Tensor<float> Q = to_float(in.Q), K = to_float(in.K), V = to_float(in.V);
  simulator::SimConfig config = sim_config(problem, algorithm, a.backward);
  config.record_trace = true;
  config.trace_first_head_only = !a.all_heads;
  simulator::Trace trace;
  bar.update(1, work.steps[1].label);
  if (a.backward) {
    const Tensor<float> dO = to_float(in.dO);
    trace = simulator::simulate_backward(config, &Q, &K, &V, &dO).trace;
  } else {
    trace = simulator::simulate_forward(config, &Q, &K, &V).trace;
  }
  bar.update(2, "writing JSON");
  write_output(a.output, [&](std::ostream& out) { simulator::write_trace_json(trace, out); });
  bar.finish();
  if (a.output != "-")
    std::printf("wrote %s: %s, %zu events, tiles %lldx%lld, SRAM %s, %s\n", a.output.c_str(),
                trace.title.c_str(), trace.events.size(),
                static_cast<long long>(trace.tiles.block_rows),
                static_cast<long long>(trace.tiles.block_cols),
                format_bytes(double(trace.sram_capacity_bytes)).c_str(),
                a.all_heads ? "every head" : "first head (batch 0, head 0)");
  return kExitOk;
}

}  // namespace

Subcommand add_trace_command(CLI::App& parent) {
  auto args = std::make_shared<TraceArgs>();
  args->problem.heads = 1;
  args->problem.seq_q = args->problem.seq_k = 256;
  args->problem.sram = "48KiB";
  CLI::App* app = parent.add_subcommand(
      "trace",
      "Write the simulator's trace of one algorithm as JSON (docs/trace-format.md): every load, "
      "store, SRAM allocation, computation and online-softmax update, tagged with its "
      "pseudo-code line");
  app->add_option("--algorithm", args->algorithm, "standard, flash or flash2")
      ->capture_default_str();
  app->add_flag("--backward", args->backward,
                "Trace the backward pass (FA1 Alg. 3, FA1 Alg. 4 or FA2 Alg. 2)");
  app->add_flag("--all-heads", args->all_heads, "Record every (batch, head), not only the first");
  app->add_option("-o,--output", args->output, "Output file ('-' = stdout)")->capture_default_str();
  add_problem_options(*app, args->problem);
  // The preset would change nothing in a trace (no prediction, and --sram has a default of its
  // own): --gpu is not offered, and a hidden --gpu says why instead of "not expected".
  app->remove_option(app->get_option("--gpu"));
  app->add_option("--gpu", args->gpu)->expected(0, 1)->group("");
  app->footer(
      "Example:\n"
      "  flashlab trace --algorithm flash --seq 256 --head-dim 64 --sram 48KiB -o trace.json");
  return {app, [args] { return run_trace_command(*args); }};
}

}  // namespace flashlab::cli
