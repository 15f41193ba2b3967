// `flashlab compare`: options, inputs (random or .npy), the run, the table or JSON, --save and
// the exit code (0 within tolerance, 1 not, 2 bad input).
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <flashlab/cli/commands.hpp>
#include <flashlab/cli/compare.hpp>
#include <flashlab/cli/compare_output.hpp>
#include <flashlab/cli/problem.hpp>
#include <flashlab/cli/progress_bar.hpp>
#include <flashlab/cli/save_outputs.hpp>
#include <flashlab/cli/terminal.hpp>
#include <flashlab/cli/units.hpp>
#include <flashlab/cli/work_estimate.hpp>
#include <memory>

namespace flashlab::cli {
namespace {

struct CompareArgs {
  ProblemArgs problem;
  bool backward = false;
  std::string q, k, v, dO;
  std::string save_dir;
  bool json = false;
  bool why = false;
  std::optional<double> tolerance;
  std::string color = "auto";
};

void require_size_agrees(const ProblemArgs& a, const char* option, int64_t given, int64_t actual,
                         const std::string& file_option, const std::string& file) {
  require(!a.given(option) || given == actual,
          std::string(option) + " " + std::to_string(given) + " disagrees with " + file_option +
              " " + file + " (" + std::to_string(actual) +
              "); the sizes come from the files, leave " + option + " out");
}

// Inputs from --q/--k/--v (and --do), with the shape they define.
Inputs load_file_inputs(const CompareArgs& a, DType dtype, AttentionShape& shape) {
  require(!a.q.empty() && !a.k.empty() && !a.v.empty(),
          "--q, --k and --v go together: give all three .npy files (missing:" +
              std::string(a.q.empty() ? " --q" : "") + (a.k.empty() ? " --k" : "") +
              (a.v.empty() ? " --v" : "") + ")");
  Inputs in;
  in.Q = load_input_tensor(a.q, "--q", dtype);
  in.K = load_input_tensor(a.k, "--k", dtype);
  in.V = load_input_tensor(a.v, "--v", dtype);
  if (!a.dO.empty()) in.dO = load_input_tensor(a.dO, "--do", dtype);
  shape = shape_of_inputs(in, !a.dO.empty());
  const ProblemArgs& p = a.problem;
  require_size_agrees(p, "--batch", p.batch, shape.batch, "--q", a.q);
  require_size_agrees(p, "--heads", p.heads, shape.heads, "--q", a.q);
  require_size_agrees(p, "--seq-q", p.seq_q, shape.seq_q, "--q", a.q);
  require_size_agrees(p, "--seq-k", p.seq_k, shape.seq_k, "--k", a.k);
  require_size_agrees(p, "--head-dim", p.head_dim, shape.head_dim, "--q", a.q);
  require(!p.given("--seq") || (p.seq == shape.seq_q && p.seq == shape.seq_k),
          "--seq " + std::to_string(p.seq) + " disagrees with the files (seq_q " +
              std::to_string(shape.seq_q) + ", seq_k " + std::to_string(shape.seq_k) +
              "); the sizes come from the files, leave --seq out");
  return in;
}

int run_compare_command(const CompareArgs& a) {
  const ColorMode color = parse_color_mode(a.color);
  if (a.tolerance)
    require(
        std::isfinite(*a.tolerance) && *a.tolerance >= 0.0,
        "--tolerance must be a finite relative L2 error >= 0, got " + format_number(*a.tolerance));
  require(a.dO.empty() || a.backward,
          "--do is the upstream gradient of the backward: add --backward");
  const DType dtype = parse_dtype(a.problem.dtype);
  const bool files = !a.q.empty() || !a.k.empty() || !a.v.empty();

  AttentionShape shape;
  Inputs inputs;
  std::string source;
  if (files) {
    inputs = load_file_inputs(a, dtype, shape);
    source = "--q " + a.q + ", --k " + a.k + ", --v " + a.v;
    if (a.backward)
      source += a.dO.empty() ? ", dO random normal (seed " + std::to_string(a.problem.seed) + ")"
                             : ", --do " + a.dO;
  } else {
    shape = shape_from_args(a.problem);
  }
  const Problem problem = resolve_problem(a.problem, shape, a.backward);
  require_tiles_fit(
      problem,
      {simulator::Algorithm::Standard, simulator::Algorithm::Flash, simulator::Algorithm::Flash2},
      a.backward);
  // Everything asked for, before any work: all heads, every implementation, what is kept.
  const WorkEstimate work = estimate_compare(problem, a.backward);
  require_feasible(
      work, std::string("compare ") + (a.backward ? "--backward " : "") + "of " + to_string(shape));
  if (!a.save_dir.empty())
    prepare_save_dir(a.save_dir, save_bytes_estimate(shape, a.backward, kCompareRows));
  warn_about_mask(problem, a.problem);

  ProgressBar bar(work.step_seconds(), show_progress(work, "compare of " + to_string(shape)));
  size_t step = 0;
  if (!files) {
    bar.update(step, "random inputs");
    inputs = random_inputs(shape, a.problem.seed, a.backward, problem.dtype);
    source = "random normal N(0, 1) from Philox, seed " + std::to_string(a.problem.seed) +
             ", rounded to " + dtype_name(problem.dtype);
  } else if (a.backward && a.dO.empty()) {
    bar.update(step, "random dO");
    inputs.dO = random_inputs(shape, a.problem.seed, true, problem.dtype).dO;
  }
  const CompareReport report =
      run_compare(problem, inputs, a.backward, a.tolerance, source,
                  [&](const std::string& label) { bar.update(++step, label); });
  bar.finish();
  const nlohmann::json doc = compare_to_json(report);
  // Saved before the verdict is printed: a failure to save is an error, not a footnote to PASS.
  size_t saved = 0;
  if (!a.save_dir.empty()) saved = save_outputs(a.save_dir, report, inputs, doc).size();
  if (a.json) {
    std::printf("%s\n", doc.dump(2).c_str());
  } else {
    const Palette palette{colors_enabled(color, stdout)};
    std::printf("%s", render_compare_table(report, palette).c_str());
    if (a.why) std::printf("%s\n", model_breakdown(report, palette).c_str());
    std::printf("%s\n",
                palette.paint(verdict_line(report), report.pass ? Tone::Good : Tone::Bad).c_str());
  }
  if (!a.save_dir.empty() && !a.json)
    std::printf("saved %zu files to %s\n", saved, a.save_dir.c_str());
  std::fflush(stdout);
  return report.pass ? kExitOk : kExitOutOfTolerance;
}

}  // namespace

Subcommand add_compare_command(CLI::App& parent) {
  auto args = std::make_shared<CompareArgs>();
  CLI::App* app = parent.add_subcommand(
      "compare",
      "Run the float64 reference, the simulator's standard attention, FlashAttention and the "
      "FlashAttention-2 order (and the CUDA kernels where available) on the same inputs; print "
      "errors against the reference, HBM traffic, extra memory and times");
  add_problem_options(*app, args->problem);
  const std::string run = "Run";
  app->add_flag("--backward", args->backward, "Also run the backward pass and compare dQ, dK, dV")
      ->group(run);
  app->add_option("--q", args->q, "Q as .npy, [batch, heads, seq_q, head_dim] (or 3-D/2-D)")
      ->group(run);
  app->add_option("--k", args->k, "K as .npy, [batch, heads, seq_k, head_dim]")->group(run);
  app->add_option("--v", args->v, "V as .npy, same shape as K")->group(run);
  app->add_option("--do", args->dO, "dO (upstream gradient) as .npy, shape of Q; needs --backward")
      ->group(run);
  app->add_option("--tolerance", args->tolerance,
                  "Relative L2 error each output must stay within, for every implementation "
                  "(default: 1e-4 for the simulator, see docs/cli.md)")
      ->group(run);
  const std::string output = "Output";
  app->add_flag("--why", args->why,
                "Also show the performance model's terms for every launch of every row: units "
                "and waves on the SMs, compute by unit, L2 and DRAM traffic, launch cost");
  app->add_flag("--json", args->json, "Print the report as JSON instead of the table")
      ->group(output);
  app->add_option("--save", args->save_dir,
                  "Write inputs, every output (.npy) and report.json into this directory")
      ->group(output);
  app->add_option("--color", args->color, "Colours: auto (terminal and no NO_COLOR), always, never")
      ->capture_default_str()
      ->group(output);
  app->footer(
      "Exit code: 0 every implementation within tolerance, 1 one is not, 2 bad input.\n\n"
      "Examples:\n"
      "  flashlab compare\n"
      "  flashlab compare --seq 2048 --causal --backward --gpu a100\n"
      "  flashlab compare --q q.npy --k k.npy --v v.npy --dtype fp32 --save out/ --json");
  return {app, [args] { return run_compare_command(*args); }};
}

}  // namespace flashlab::cli
