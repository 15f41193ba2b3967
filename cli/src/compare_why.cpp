// Why compare predicts the times it does: the closing lines every table ends with (FA2 against
// FA1 on this problem, and what the model leaves out) and the launch-by-launch terms of
// `compare --why`.
#include <cstdio>
#include <string>
#include <vector>

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
  // Two decimals near 1, where "1.0x faster" would hide which is faster.
  std::snprintf(b, sizeof b, x >= 10 ? "%.0fx" : x >= 2 ? "%.1fx" : "%.2fx", x);
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

// A memset is no kernel (kernel profilers do not list it): the label says so once, whether or not
// the simulator's launch name already does ("dQ_acc = (0) (memset)").
std::string launch_label(const simulator::LaunchPrediction& l) {
  const std::string memset = " (memset)";
  if (l.softmax_under_matmul) return l.name + " (softmax under matmul)";
  return l.kernel || l.name.ends_with(memset) ? l.name : l.name + memset;
}

// "1 block keeps" / "4 blocks keep": `verb` is the plural form.
std::string blocks(int64_t n, const std::string& verb = "") {
  const bool one = n == 1;
  return std::to_string(n) + (one ? " block" : " blocks") +
         (verb.empty() ? "" : " " + (one ? verb + "s" : verb));
}

// FA2 against FA1 on this problem's forward, each clause chosen by the numbers: who gets more
// of the SMs, who moves fewer bytes and does fewer non-matmul operations, who is predicted faster
// -- so that the line never credits FA2 with an advantage it does not have here.
std::string fa2_against_fa1(const PassRun& fa1, const PassRun& fa2, const std::string& gpu,
                            bool kept_max) {
  const simulator::Prediction& p1 = *fa1.prediction;
  const simulator::Prediction& p2 = *fa2.prediction;
  const simulator::LaunchPrediction& l1 = main_launch(p1);
  const simulator::LaunchPrediction& l2 = main_launch(p2);
  const double bytes1 = double(fa1.io->total_bytes()), bytes2 = double(fa2.io->total_bytes());
  const double ops1 = double(fa1.io->other_flops), ops2 = double(fa2.io->other_flops);
  const bool faster = p2.predicted_s < p1.predicted_s;

  std::string out =
      std::string("why FA2 ") + (faster ? "beats" : "does not beat") +
      " FA1 here (forward): FA1 gives each (batch, head) to one thread block: " +
      blocks(l1.units, "keep") + " " + percent(l1.sm_busy) + " of the " + gpu +
      "'s SM time busy; FA2 gives one block to each query block: " + blocks(l2.units) + ", " +
      percent(l2.sm_busy) + " busy. ";
  const std::string traffic =
      " (" + format_bytes(bytes2) + " against FA1's " + format_bytes(bytes1) + ")";
  if (bytes2 < bytes1)
    out += "FA2 moves fewer HBM bytes" + traffic +
           ": it keeps O_i on chip, where FA1 reads and writes it once per key block. ";
  else if (bytes2 > bytes1)
    out += "FA2 moves more HBM bytes" + traffic +
           ": it keeps O_i on chip, but reads K and V once per query block. ";
  else
    out += "FA2 moves as many HBM bytes as FA1 (" + format_bytes(bytes1) + "). ";
  if (ops2 < ops1)
    out += std::string(kept_max ? "It rescales O only where a row's running max moves (--kept-max)"
                                : "It rescales O once per block") +
           " instead of dividing it every step: " + format_count(ops2) +
           " non-matmul operations against FA1's " + format_count(ops1) + ". ";
  if (!faster)
    return out + "Predicted " +
           (p2.predicted_s > p1.predicted_s ? times(p2.predicted_s / p1.predicted_s) + " slower"
                                            : "as fast") +
           ".\n";
  out += "Predicted " + times(p1.predicted_s / p2.predicted_s) + " faster";
  std::vector<std::string> gains;
  if (l2.sm_busy > l1.sm_busy) gains.push_back("parallelism");
  if (ops2 < ops1) gains.push_back("fewer non-matmul operations");
  if (bytes2 < bytes1 || gains.empty()) return out + ".\n";
  out += ": the gain is " + gains.front();
  if (gains.size() > 1) out += " and " + gains.back();
  return out + (bytes2 > bytes1 ? ", despite more traffic" : "") + ".\n";
}

}  // namespace

std::string model_story(const CompareReport& report) {
  const ImplementationRun* fa1 = find_available(report, "flash_sim");
  const ImplementationRun* fa2 = find_available(report, "flash2_sim");
  std::string out;
  if (fa1 && fa2 && !fa1->forward->prediction->launches.empty() &&
      !fa2->forward->prediction->launches.empty())
    out += fa2_against_fa1(*fa1->forward, *fa2->forward, report.problem.gpu.name,
                           report.problem.kept_max);
  out +=
      "what the model leaves out: registers, shared-memory bandwidth and bank conflicts, "
      "instruction issue and synchronisation inside a block; it assumes matmul, exp, other "
      "arithmetic and dropout's Philox draws take turns (in our CUDA kernels that overlap them: "
      "side by side, the softmax at a measured share of its rate) and memory overlaps them "
      "(docs/simulator.md: how close it comes on the H200). compare --why shows every term.\n";
  return out;
}

std::string model_breakdown(const CompareReport& report, const Palette& palette) {
  TextTable t;
  for (const char* h : {"implementation", "pass", "launch", "units", "per SM", "waves", "SMs busy",
                        "matmul", "exp", "other", "draws", "compute", "L2 bytes", "L2",
                        "DRAM bytes", "DRAM", "launch cost", "predicted", "bound"})
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
        TableRow row;
        row.cells = {{run.name, Tone::Plain},
                     {label, Tone::Plain},
                     {launch_label(l), Tone::Plain},
                     {std::to_string(l.units), Tone::Plain},
                     {std::to_string(l.units_per_sm), Tone::Plain},
                     {format_fraction(l.waves), Tone::Plain},
                     {percent(l.sm_busy), Tone::Plain},
                     {format_seconds(l.matmul_s), Tone::Dim},
                     {format_seconds(l.exp_s), Tone::Dim},
                     {format_seconds(l.vector_s), Tone::Dim},
                     {format_seconds(l.random_s), Tone::Dim},
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
         ", launch by launch (matmul, exp, other, draws (dropout's Philox calls): the whole "
         "launch's work at the GPU's rates; compute: the units scheduled on the SMs, the longest "
         "SM, each unit's matmul + exp + other + draws, or, where the kernel runs its softmax "
         "under its matmuls, the longer of matmul "
         "and the rest slowed to " +
         format_fraction(report.problem.gpu.sustained.rest_rate_under_matmul) +
         " of its rate, but for one step per unit (its loop's fill and drain); a launch takes "
         "max(compute, L2, DRAM) + launch cost)\n" +
         render(t, palette);
}

}  // namespace flashlab::cli
