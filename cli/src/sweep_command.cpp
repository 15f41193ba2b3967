// `flashlab sweep`: options, the progress bar, and the table / CSV / JSON / SVG outputs.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <flashlab/cli/commands.hpp>
#include <flashlab/cli/output_file.hpp>
#include <flashlab/cli/progress_bar.hpp>
#include <flashlab/cli/sweep.hpp>
#include <flashlab/cli/sweep_output.hpp>
#include <flashlab/cli/terminal.hpp>
#include <flashlab/cli/work_estimate.hpp>
#include <memory>

namespace flashlab::cli {
namespace {

struct SweepArgs {
  ProblemArgs problem;
  std::string param;
  std::string values, from, to;
  double factor = 2.0;
  bool backward = false;
  std::string csv, json, chart;
  std::string color = "auto";
};

int run_sweep_command(const SweepArgs& a) {
  const Palette palette{colors_enabled(parse_color_mode(a.color), stdout)};
  const SweepParam param = parse_sweep_param(a.param);
  const std::vector<SweepValue> values = sweep_values(param, a.values, a.from, a.to, a.factor);
  require(a.chart.empty() || ends_with_svg(a.chart),
          "--chart writes SVG: give a file name ending in .svg, got '" + a.chart + "'");
  for (const std::string* file : {&a.csv, &a.json, &a.chart})
    if (!file->empty()) check_writable(*file);

  std::vector<SweepPoint> points = sweep_points(a.problem, param, values, a.backward);
  WorkEstimate work;  // the points, each its three algorithms counting only
  for (const SweepPoint& p : points)
    work.steps.push_back({p.value.label, estimate_sweep_point(p.problem, a.backward).seconds()});
  require_feasible(work, "the sweep");

  ProgressBar bar(work.step_seconds(), show_progress(work, "the sweep"));
  const SweepResult result =
      run_sweep(param, std::move(points), a.backward,
                [&](size_t done, const std::string& label) { bar.update(done, label); });
  bar.finish();

  const bool table_to_stdout = a.csv != "-" && a.json != "-";
  if (table_to_stdout) std::printf("%s", render_sweep_table(result, palette).c_str());
  if (!a.csv.empty()) write_output(a.csv, sweep_to_csv(result));
  if (!a.json.empty()) write_output(a.json, sweep_to_json(result).dump(2) + "\n");
  if (!a.chart.empty()) write_output(a.chart, sweep_to_svg(result));
  if (table_to_stdout)
    for (const std::string* file : {&a.csv, &a.json, &a.chart})
      if (!file->empty()) std::printf("wrote %s\n", file->c_str());
  return kExitOk;
}

}  // namespace

Subcommand add_sweep_command(CLI::App& parent) {
  auto args = std::make_shared<SweepArgs>();
  args->problem.heads = 16;
  CLI::App* app = parent.add_subcommand(
      "sweep",
      "Vary one parameter and report, per value, the HBM bytes of standard attention, "
      "FlashAttention and the FA2 order, FLOPs, peak SRAM and the predicted time (paper Fig. 2 "
      "style); counting-only simulation, so N = 64k is cheap");
  const std::string sweep = "Sweep";
  app->add_option("--param", args->param,
                  "The parameter to vary: N, d, sram, block (Br = Bc) or density")
      ->required()
      ->group(sweep);
  app->add_option("--values", args->values,
                  "Comma-separated values (sram accepts units); default: a range per parameter")
      ->group(sweep);
  app->add_option("--from", args->from, "First value of a geometric range (with --to)")
      ->group(sweep);
  app->add_option("--to", args->to, "Last value of the range (inclusive if reached)")->group(sweep);
  app->add_option("--factor", args->factor, "Ratio between consecutive range values")
      ->capture_default_str()
      ->group(sweep);
  app->add_flag("--backward", args->backward,
                "Count the backward pass (Thm. 5) instead of the forward")
      ->group(sweep);
  add_problem_options(*app, args->problem);
  const std::string output = "Output";
  app->add_option("--csv", args->csv, "Write CSV to this file ('-' = stdout, no table)")
      ->group(output);
  app->add_option("--json", args->json, "Write JSON to this file ('-' = stdout, no table)")
      ->group(output);
  app->add_option("--chart", args->chart, "Write an SVG chart (HBM bytes and predicted time)")
      ->group(output);
  app->add_option("--color", args->color, "Colours: auto, always, never")
      ->capture_default_str()
      ->group(output);
  app->footer(
      "Examples:\n"
      "  flashlab sweep --param N --from 256 --to 65536 --chart fig2.svg --csv fig2.csv\n"
      "  flashlab sweep --param sram --values 16KiB,48KiB,100KB,228KiB --seq 4096\n"
      "  flashlab sweep --param density --seq 8192 --backward --json -");
  return {app, [args] { return run_sweep_command(*args); }};
}

}  // namespace flashlab::cli
