// Why compare predicts the times it does: the closing lines every table ends with (where FA2's
// speed-up over FA1 comes from on this problem, and what the model leaves out) and the
// launch-by-launch terms of `compare --why`.
#include <cstdio>

#include <flashlab/cli/compare_output.hpp>
#include <flashlab/cli/text_table.hpp>
#include <flashlab/cli/units.hpp>

namespace flashlab::cli {
namespace {

const ImplementationRun* find_available(const CompareReport& r, const std::string& id) {
  for (const ImplementationRun& run : r.runs)
    if (run.id == id && run.available && run.forward && run.forward->prediction) return &run;
  return nullptr;
}

std::string times(double x) {
  char b[32];
  std::snprintf(b, sizeof b, x >= 10 ? "%.0fx" : "%.1fx", x);
  return b;
}

std::string percent(double x) {
  char b[16];
  std::snprintf(b, sizeof b, "%.0f%%", 100.0 * x);
  return b;
}

// The forward's main launch (the one that takes longest).
const simulator::LaunchPrediction& main_launch(const simulator::Prediction& p) {
  const simulator::LaunchPrediction* best = &p.launches.front();
  for (const simulator::LaunchPrediction& l : p.launches)
    if (l.predicted_s > best->predicted_s) best = &l;
  return *best;
}

}  // namespace

std::string model_story(const CompareReport& report) {
  const ImplementationRun* fa1 = find_available(report, "flash_sim");
  const ImplementationRun* fa2 = find_available(report, "flash2_sim");
  std::string out;
  if (fa1 && fa2 && !fa1->forward->prediction->launches.empty() &&
      !fa2->forward->prediction->launches.empty()) {
    const simulator::Prediction& p1 = *fa1->forward->prediction;
    const simulator::Prediction& p2 = *fa2->forward->prediction;
    const simulator::LaunchPrediction& l1 = main_launch(p1);
    const simulator::LaunchPrediction& l2 = main_launch(p2);
    const double bytes1 = double(fa1->forward->io->total_bytes());
    const double bytes2 = double(fa2->forward->io->total_bytes());
    out += "why FA2 beats FA1 here (forward): FA1 gives each (batch, head) to one thread block: " +
           std::to_string(l1.units) + " blocks keep " + percent(l1.sm_busy) + " of the " +
           report.problem.gpu.name +
           "'s SM time busy; FA2 gives one block to each query block: " + std::to_string(l2.units) +
           " blocks, " + percent(l2.sm_busy) + " busy. FA2 also keeps O_i on chip (" +
           format_bytes(bytes2) + " of HBM traffic against FA1's " + format_bytes(bytes1) +
           ") and rescales O once per block instead of dividing it every step. Predicted " +
           (p2.predicted_s < p1.predicted_s ? times(p1.predicted_s / p2.predicted_s) + " faster"
                                            : times(p2.predicted_s / p1.predicted_s) + " slower") +
           ".\n";
  }
  out +=
      "what the model leaves out: registers, shared-memory bandwidth and bank conflicts, "
      "instruction issue and synchronisation inside a block; it assumes matmul, exp and other "
      "arithmetic take turns and memory overlaps them (docs/simulator.md: how close it comes on "
      "the H200). compare --why shows every term.\n";
  return out;
}

std::string model_breakdown(const CompareReport& report, const Palette& palette) {
  TextTable t;
  for (const char* h : {"implementation", "pass", "launch", "units", "per SM", "waves", "SMs busy",
                        "matmul", "exp", "other", "compute", "L2 bytes", "L2", "DRAM bytes", "DRAM",
                        "launch cost", "predicted", "bound"})
    t.columns.push_back({h,
                         std::string(h) == "implementation" || std::string(h) == "pass" ||
                                 std::string(h) == "launch" || std::string(h) == "bound"
                             ? Align::Left
                             : Align::Right,
                         ""});
  for (const ImplementationRun& run : report.runs) {
    if (!run.available) continue;
    for (const auto& [pass, label] :
         {std::pair{&run.forward, "fwd"}, std::pair{&run.backward, "bwd"}}) {
      if (!*pass || !(*pass)->prediction) continue;
      for (const simulator::LaunchPrediction& l : (*pass)->prediction->launches) {
        char waves[32];
        std::snprintf(waves, sizeof waves, "%.2f", l.waves);
        TableRow row;
        row.cells = {{run.name, Tone::Plain},
                     {label, Tone::Plain},
                     {l.name + (l.kernel ? "" : " (memset)"), Tone::Plain},
                     {std::to_string(l.units), Tone::Plain},
                     {std::to_string(l.units_per_sm), Tone::Plain},
                     {waves, Tone::Plain},
                     {percent(l.sm_busy), Tone::Plain},
                     {format_seconds(l.matmul_s), Tone::Dim},
                     {format_seconds(l.exp_s), Tone::Dim},
                     {format_seconds(l.vector_s), Tone::Dim},
                     {format_seconds(l.compute_s), Tone::Plain},
                     {format_bytes(double(l.l2_bytes)), Tone::Dim},
                     {format_seconds(l.l2_s), Tone::Plain},
                     {format_bytes(double(l.dram_read_bytes + l.dram_write_bytes)), Tone::Dim},
                     {format_seconds(l.dram_s), Tone::Plain},
                     {format_seconds(l.launch_s), Tone::Plain},
                     {format_seconds(l.predicted_s), Tone::Bold},
                     {simulator::to_string(l.bound), Tone::Plain}};
        t.rows.push_back(std::move(row));
      }
    }
  }
  return "\nwhy: the performance model on " + report.problem.gpu.name +
         ", launch by launch (matmul, exp, other: the whole launch's work at the GPU's rates; "
         "compute: the units scheduled on the SMs, the longest SM; a launch takes max(compute, "
         "L2, DRAM) + launch cost)\n" +
         render(t, palette);
}

}  // namespace flashlab::cli
