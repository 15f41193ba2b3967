// flashlab validate: the performance model against the GPU. Reads what bench/validate_model.sh
// measured with Nsight Compute (DRAM bytes, L2 <-> SM bytes, kernel time and grid of each call:
// our fused forward and backward, the naive baseline, PyTorch's FlashAttention-2), predicts each
// call with the kernel's own tiles (kernel_model.hpp) and prints both side by side with their
// ratios and the targets of docs/simulator.md; optionally writes the table as Markdown and a
// predicted-vs-measured chart (log-log SVG). No GPU is needed: the measurements are a file.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include <flashlab/cli/commands.hpp>
#include <flashlab/cli/kernel_model.hpp>
#include <flashlab/cli/output_file.hpp>
#include <flashlab/cli/svg_chart.hpp>
#include <flashlab/cli/terminal.hpp>
#include <flashlab/cli/text_table.hpp>
#include <flashlab/cli/units.hpp>
#include <flashlab/core/dropout.hpp>
#include <flashlab/core/error.hpp>
#include <flashlab/core/shape.hpp>

namespace flashlab::cli {
namespace {

struct ValidateArgs {
  std::vector<std::string> measured;
  std::string gpu = "h200";
  std::string markdown, svg;
  std::string color = "auto";
};

// One measured call and its prediction.
struct Row {
  std::string call;  // fused_fwd, fused_bwd, naive_fwd, naive_bwd, torch_fa2_fwd, torch_fa2_bwd
  AttentionShape shape;
  bool causal = false;
  double dropout = 0;  // the dropout probability the call ran with
  TileSizes tiles;
  double grid = 0;
  double dram = 0, l2 = 0, seconds = 0;  // measured
  KernelPrediction model;
  double pred_dram() const {
    return double(model.kernels_only.dram_read_bytes + model.kernels_only.dram_write_bytes);
  }
  double pred_l2() const { return double(model.kernels_only.l2_bytes); }
  double pred_seconds() const { return model.kernels_only.predicted_s; }
  bool fused_ours() const { return call == "fused_fwd" || call == "fused_bwd"; }
  bool naive() const { return call == "naive_fwd" || call == "naive_bwd"; }
  bool backward() const { return call.size() > 3 && call.substr(call.size() - 3) == "bwd"; }
};

double number(const nlohmann::json& r, const char* key) {
  require(r.contains(key) && r[key].is_number(), std::string("no number '") + key + "'");
  return r[key].get<double>();
}

// A size of the record (B, H, N, d, Br, Bc): a whole number from 1 to 2^30.
int64_t record_size(const nlohmann::json& r, const char* key) {
  const double v = number(r, key);
  require(v >= 1 && v <= double(kMaxDimension) && v == std::floor(v),
          std::string(key) + " must be a whole number between 1 and 2^30, got " + format_number(v));
  return int64_t(v);
}

// PyTorch's FA2 kernels do not tell their tiles; the grid gives the blocked dimension
// (forward: one block per query block, backward: one per key block) and FA2's launch code the
// other (FA2 forward: 128 keys at d <= 64, 64 above; backward: 128 query rows at d <= 64, 64
// above).
TileSizes torch_tiles(const Row& r) {
  const double heads = double(r.shape.batch * r.shape.heads);
  const int64_t blocks = std::max<int64_t>(1, int64_t(std::llround(r.grid / heads)));
  const int64_t blocked = (r.shape.seq_q + blocks - 1) / blocks;
  const int64_t d = r.shape.head_dim;
  return r.backward() ? TileSizes{d <= 64 ? 128 : 64, blocked}
                      : TileSizes{blocked, d <= 64 ? 128 : 64};
}

// One record: the call, its shape and tiles, what Nsight Compute measured, and the model's
// prediction. Errors do not name the record; read_rows adds the file and the index.
Row read_row(const nlohmann::json& r, const simulator::GpuSpec& gpu) {
  require(r.is_object(), "is not an object");
  Row row;
  row.call = r.value("call", "");
  const KernelCall kinds[] = {KernelCall::FusedForward, KernelCall::FusedBackward,
                              KernelCall::NaiveForward, KernelCall::NaiveBackward};
  int kind = -1;
  if (row.call == "fused_fwd" || row.call == "torch_fa2_fwd") kind = 0;
  if (row.call == "fused_bwd" || row.call == "torch_fa2_bwd") kind = 1;
  if (row.call == "naive_fwd") kind = 2;
  if (row.call == "naive_bwd") kind = 3;
  require(kind >= 0, "unknown call '" + row.call + "'");
  const int64_t n = record_size(r, "N");
  row.shape = {record_size(r, "B"), record_size(r, "H"), n, n, record_size(r, "d")};
  row.causal = r.value("causal", false);
  // flashlab-gpu-calls --dropout P writes it (since v30); the model then counts dropout's draws.
  row.dropout = r.value("dropout", 0.0);
  try {
    make_dropout(row.dropout, 0);
  } catch (const Error& e) {
    throw Error(std::string("dropout: ") + e.what());
  }
  row.grid = r.value("grid", 0.0);
  row.dram = number(r, "dram_read_bytes") + number(r, "dram_write_bytes");
  row.l2 = r.value("l2_sm_read_bytes", 0.0) + r.value("l2_sm_write_bytes", 0.0) +
           r.value("l2_sm_red_bytes", 0.0) + r.value("l2_sm_atom_bytes", 0.0);
  row.seconds = number(r, "time_ns") * 1e-9;
  // Our fused kernels say their tiles; PyTorch's are derived from the grid; the naive baseline's
  // GEMMs are cuBLAS's, whose tiles the model does not take.
  if (row.fused_ours()) row.tiles = {record_size(r, "Br"), record_size(r, "Bc")};
  if (row.call.rfind("torch", 0) == 0) row.tiles = torch_tiles(row);
  // How the measured kernel scheduled its arithmetic (flashlab-gpu-calls writes it): "serial"
  // (the default, and every kernel but our warp-specialised forward) or "overlapped".
  const std::string schedule = r.value("schedule", "serial");
  require(schedule == "serial" || schedule == "overlapped",
          "schedule '" + schedule + "' is neither 'serial' nor 'overlapped'");
  // How its softmax treated the running max (flashlab-gpu-calls writes it since v27): "fa2" (the
  // default: FA2's rescale at every block) or "kept-max" (our forward since v26).
  const std::string softmax = r.value("softmax", "fa2");
  require(softmax == "fa2" || softmax == "kept-max",
          "softmax '" + softmax + "' is neither 'fa2' nor 'kept-max'");
  AttentionOptions options;
  options.causal = row.causal;
  options.dropout_p = row.dropout;
  row.model = predict_kernel(kinds[kind], row.shape, options, 2, row.tiles, gpu,
                             schedule == "overlapped", softmax == "kept-max");
  return row;
}

std::vector<Row> read_rows(const std::string& file, const simulator::GpuSpec& gpu) {
  std::ifstream in(file);
  require(bool(in), "--measured: cannot open '" + file + "'");
  nlohmann::json doc;
  try {
    in >> doc;
  } catch (const nlohmann::json::exception& e) {
    throw Error("--measured: '" + file + "' is not valid JSON: " + e.what());
  }
  require(doc.is_array(), "--measured: '" + file + "' must hold an array of records");
  require(!doc.empty(), "--measured: '" + file +
                            "' holds no records (an empty array); bench/ncu_collect.py writes one "
                            "per measured call");
  std::vector<Row> rows;
  for (size_t k = 0; k < doc.size(); ++k) {
    const nlohmann::json& r = doc[k];
    const std::string where = "--measured: '" + file + "', record " + std::to_string(k + 1) +
                              " of " + std::to_string(doc.size()) +
                              (r.is_object() && r.contains("call") && r["call"].is_string()
                                   ? " (" + r["call"].get<std::string>() + ")"
                                   : "") +
                              ": ";
    try {
      rows.push_back(read_row(r, gpu));
    } catch (const Error& e) {
      throw Error(where + e.what());
    } catch (const nlohmann::json::exception& e) {  // a field of the wrong type
      throw Error(where + e.what());
    }
  }
  return rows;
}

std::string ratio_text(double predicted, double measured) {
  if (!(measured > 0)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", predicted / measured);
  return buf;
}

bool within(double predicted, double measured, double tolerance) {
  return measured > 0 && std::abs(predicted / measured - 1.0) <= tolerance;
}

struct Target {
  std::string what;
  int met = 0, total = 0;
};

const char* kKernelNames[] = {"fused_fwd", "fused_bwd",     "naive_fwd",
                              "naive_bwd", "torch_fa2_fwd", "torch_fa2_bwd"};

std::string label(const Row& r) {
  return r.call + (r.call.rfind("torch", 0) == 0 ? " (PyTorch)" : "");
}

// The grid of the launch the model predicts longest: ncu_collect.py keeps the grid of the call's
// longest kernel, so the two columns name the same kernel (FA2's backward is four launches).
int64_t main_launch_units(const Row& r) {
  const auto& launches = r.model.kernels_only.launches;
  const auto longest =
      std::max_element(launches.begin(), launches.end(),
                       [](const auto& a, const auto& b) { return a.predicted_s < b.predicted_s; });
  return longest == launches.end() ? 0 : longest->units;
}

std::vector<std::vector<std::string>> table_cells(const std::vector<Row>& rows) {
  std::vector<std::vector<std::string>> out;
  for (const Row& r : rows) {
    const bool has_tiles = r.tiles.block_rows > 0;
    out.push_back(
        {label(r), std::to_string(r.shape.head_dim), std::to_string(r.shape.seq_q),
         r.causal ? "yes" : "no", r.dropout > 0 ? format_number(r.dropout) : "-",
         has_tiles ? std::to_string(r.tiles.block_rows) + "x" + std::to_string(r.tiles.block_cols)
                   : "-",
         std::to_string(int64_t(r.grid)) + " / " + std::to_string(main_launch_units(r)),
         format_bytes(r.dram), format_bytes(r.pred_dram()), ratio_text(r.pred_dram(), r.dram),
         format_bytes(r.l2), format_bytes(r.pred_l2()), ratio_text(r.pred_l2(), r.l2),
         format_seconds(r.seconds), format_seconds(r.pred_seconds()),
         ratio_text(r.pred_seconds(), r.seconds)});
  }
  return out;
}

const std::vector<std::string> kHeaders = {"kernel",
                                           "d",
                                           "N",
                                           "causal",
                                           "dropout",
                                           "tiles",
                                           "grid meas / model",
                                           "DRAM ncu",
                                           "DRAM model",
                                           "ratio",
                                           "L2<->SM ncu",
                                           "L2<->SM model",
                                           "ratio",
                                           "time ncu",
                                           "time model",
                                           "ratio"};

std::vector<Target> check_targets(const std::vector<Row>& rows) {
  Target dram{"fused kernels, N >= 2048: DRAM bytes within +-30%"};
  Target l2{"fused kernels, N >= 2048: L2 <-> SM bytes within +-30%"};
  Target time_fwd{"fused forward, N >= 2048: time within +-25%"};
  Target time_bwd{"fused backward, N >= 2048: time within +-25%"};
  Target time_naive{"naive baseline, N >= 2048: time within +-25%"};
  Target def{"default compare problem (B 1, H 4, N 1024, d 64): fused forward time within 2x"};
  Target flash_vs_std{"ordering: fused faster than naive (model agrees with measurement)"};
  Target causal_order{"ordering: causal faster than dense (model agrees with measurement)"};
  // Calls with dropout (flashlab-gpu-calls --dropout): their own targets, listed where measured.
  Target dram_dropout{"fused kernels with dropout, N >= 2048: DRAM bytes within +-30%"};
  Target time_fwd_dropout{"fused forward with dropout, N >= 2048: time within +-25%"};
  Target time_bwd_dropout{"fused backward with dropout, N >= 2048: time within +-25%"};
  std::map<std::string, const Row*> by_key;
  auto key = [](const Row& r, const std::string& call, bool causal) {
    return call + "/" + std::to_string(r.shape.batch) + "/" + std::to_string(r.shape.heads) + "/" +
           std::to_string(r.shape.seq_q) + "/" + std::to_string(r.shape.head_dim) + "/" +
           (causal ? "c" : "d") + "/" + format_number(r.dropout);
  };
  for (const Row& r : rows) by_key[key(r, r.call, r.causal)] = &r;
  for (const Row& r : rows) {
    const bool large = r.shape.seq_q >= 2048;
    if (r.fused_ours() && large && r.dropout > 0) {
      ++dram_dropout.total;
      dram_dropout.met += within(r.pred_dram(), r.dram, 0.30);
      Target& t = r.backward() ? time_bwd_dropout : time_fwd_dropout;
      ++t.total;
      t.met += within(r.pred_seconds(), r.seconds, 0.25);
    } else if (r.fused_ours() && large) {
      ++dram.total;
      dram.met += within(r.pred_dram(), r.dram, 0.30);
      ++l2.total;
      l2.met += within(r.pred_l2(), r.l2, 0.30);
    }
    if ((r.fused_ours() || r.naive()) && r.dropout == 0 && large) {
      Target& t = r.naive() ? time_naive : r.backward() ? time_bwd : time_fwd;
      ++t.total;
      t.met += within(r.pred_seconds(), r.seconds, 0.25);
    }
    if (r.call == "fused_fwd" && !r.causal && r.dropout == 0 && r.shape.batch == 1 &&
        r.shape.heads == 4 && r.shape.seq_q == 1024 && r.shape.head_dim == 64) {
      ++def.total;
      def.met += r.pred_seconds() <= 2 * r.seconds && r.seconds <= 2 * r.pred_seconds();
    }
    const std::string mode = r.backward() ? "bwd" : "fwd";
    if (r.call == "fused_" + mode) {
      const auto naive = by_key.find(key(r, "naive_" + mode, r.causal));
      if (naive != by_key.end()) {
        ++flash_vs_std.total;
        flash_vs_std.met += (r.pred_seconds() < naive->second->pred_seconds()) ==
                            (r.seconds < naive->second->seconds);
      }
      if (r.causal) {
        const auto dense = by_key.find(key(r, r.call, false));
        if (dense != by_key.end()) {
          ++causal_order.total;
          causal_order.met += (r.pred_seconds() < dense->second->pred_seconds()) ==
                              (r.seconds < dense->second->seconds);
        }
      }
    }
  }
  std::vector<Target> out{dram,       l2,  time_fwd,     time_bwd,
                          time_naive, def, flash_vs_std, causal_order};
  for (const Target& t : {dram_dropout, time_fwd_dropout, time_bwd_dropout})
    if (t.total > 0) out.push_back(t);
  return out;
}

std::string markdown(const std::vector<Row>& rows, const std::vector<Target>& targets,
                     const std::string& gpu) {
  std::ostringstream md;
  md << "| target | met |\n|---|---|\n";
  for (const Target& t : targets)
    md << "| " << t.what << " | " << t.met << " of " << t.total << " |\n";
  md << "\nModel: " << gpu
     << " preset. Measured: Nsight Compute, sum over the kernels of each call.\n\n|";
  for (const std::string& h : kHeaders) md << " " << h << " |";
  md << "\n|";
  for (size_t k = 0; k < kHeaders.size(); ++k) md << (k < 6 ? "---|" : "---:|");
  md << "\n";
  for (const auto& cells : table_cells(rows)) {
    md << "|";
    for (const std::string& c : cells) md << " " << c << " |";
    md << "\n";
  }
  return md.str();
}

std::string chart(const std::vector<Row>& rows, const std::string& gpu) {
  // One series per call, and one more per call measured with dropout.
  const char* colors[][2] = {{"#1f77b4", "#17becf"}, {"#d62728", "#e377c2"},
                             {"#2ca02c", "#bcbd22"}, {"#ff7f0e", "#7f7f7f"},
                             {"#9467bd", "#393b79"}, {"#8c564b", "#637939"}};
  ChartPanel time{"Kernel time",
                  "measured (Nsight Compute)",
                  "predicted",
                  AxisUnit::Seconds,
                  AxisUnit::Seconds,
                  {},
                  {}};
  ChartPanel dram{"DRAM bytes",
                  "measured (Nsight Compute)",
                  "predicted",
                  AxisUnit::Bytes,
                  AxisUnit::Bytes,
                  {},
                  {}};
  double lo = 1e30, hi = 0, blo = 1e30, bhi = 0;
  for (const bool dropout : {false, true})
    for (size_t k = 0; k < std::size(kKernelNames); ++k) {
      ChartSeries ts{std::string(kKernelNames[k]) + (dropout ? " (dropout)" : ""),
                     colors[k][dropout],
                     false,
                     {},
                     {}},
          ds = ts;
      for (const Row& r : rows) {
        if (r.call != kKernelNames[k] || (r.dropout > 0) != dropout) continue;
        ts.x.push_back(r.seconds);
        ts.y.push_back(r.pred_seconds());
        ds.x.push_back(r.dram);
        ds.y.push_back(r.pred_dram());
        lo = std::min({lo, r.seconds, r.pred_seconds()});
        hi = std::max({hi, r.seconds, r.pred_seconds()});
        blo = std::min({blo, r.dram, r.pred_dram()});
        bhi = std::max({bhi, r.dram, r.pred_dram()});
      }
      if (!ts.x.empty()) {
        time.series.push_back(ts);
        dram.series.push_back(ds);
      }
    }
  require(hi > 0, "no measured rows to chart");
  time.series.push_back({"predicted = measured", "#999999", true, {lo, hi}, {lo, hi}});
  dram.series.push_back({"predicted = measured", "#999999", true, {blo, bhi}, {blo, bhi}});
  return render_svg_chart("flashlab's performance model against the GPU",
                          "model: " + gpu +
                              " preset; every call once, fp16, batch x heads x N = "
                              "32768 x 2048/d (and the default compare problem); "
                              "(dropout): the calls measured with dropout",
                          {time, dram});
}

// Writes `text` to `path` and says so (a file, not stdout: "-" prints the text itself).
void write_and_say(const std::string& path, const std::string& text) {
  write_output(path, text);
  if (path != "-") std::printf("wrote %s\n", path.c_str());
}

int run_validate(const ValidateArgs& a) {
  require(!a.measured.empty(), "--measured: give at least one file (bench/validate_model.sh)");
  const Palette palette{colors_enabled(parse_color_mode(a.color), stdout)};
  simulator::GpuSpec gpu;
  try {
    gpu = simulator::gpu_spec_by_name(a.gpu);
  } catch (const Error& e) {
    throw Error(std::string("--gpu: ") + e.what());
  }
  for (const std::string* file : {&a.markdown, &a.svg})
    if (!file->empty()) check_writable(*file);
  std::vector<Row> rows;
  for (const std::string& f : a.measured) {
    std::vector<Row> more = read_rows(f, gpu);
    rows.insert(rows.end(), std::make_move_iterator(more.begin()),
                std::make_move_iterator(more.end()));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& x, const Row& y) {
    auto rank = [](const std::string& c) {
      return int(std::find(std::begin(kKernelNames), std::end(kKernelNames), c) -
                 std::begin(kKernelNames));
    };
    return std::tuple(rank(x.call), x.shape.head_dim, x.causal, x.shape.seq_q) <
           std::tuple(rank(y.call), y.shape.head_dim, y.causal, y.shape.seq_q);
  });
  const std::vector<Target> targets = check_targets(rows);

  TextTable table;
  for (size_t k = 0; k < kHeaders.size(); ++k)
    table.columns.push_back({kHeaders[k], k == 0 || k == 5 ? Align::Left : Align::Right, ""});
  for (auto& cells : table_cells(rows)) {
    TableRow row;
    for (auto& c : cells) row.cells.push_back({std::move(c), Tone::Plain});
    table.rows.push_back(std::move(row));
  }
  std::printf("%s: the %s model against %zu measured calls\n\n%s\n",
              palette.paint("flashlab validate", Tone::Bold).c_str(), gpu.name.c_str(), rows.size(),
              render(table, palette).c_str());
  for (const Target& t : targets) std::printf("%-88s %d of %d\n", t.what.c_str(), t.met, t.total);
  if (!a.markdown.empty()) write_and_say(a.markdown, markdown(rows, targets, gpu.name));
  if (!a.svg.empty()) write_and_say(a.svg, chart(rows, gpu.name));
  return kExitOk;
}

}  // namespace

Subcommand add_validate_command(CLI::App& parent) {
  auto args = std::make_shared<ValidateArgs>();
  CLI::App* app = parent.add_subcommand(
      "validate",
      "The performance model against Nsight Compute's measurements of the real kernels "
      "(written by bench/validate_model.sh on the GPU): DRAM bytes, L2 bytes and time, "
      "predicted vs measured, with the targets of docs/simulator.md");
  app->add_option("--measured", args->measured,
                  "JSON written by bench/ncu_collect.py (repeatable), e.g. "
                  "bench/results/validation_h200_ours.json")
      ->required()
      ->check(CLI::ExistingFile);
  app->add_option("--gpu", args->gpu, "GPU preset of the model: " + simulator::gpu_preset_names())
      ->capture_default_str();
  app->add_option("--markdown", args->markdown, "Also write the table as Markdown to this file");
  app->add_option("--svg", args->svg, "Also write a predicted-vs-measured chart (SVG, log-log)");
  app->add_option("--color", args->color, "Colours: auto (terminal and no NO_COLOR), always, never")
      ->capture_default_str();
  app->footer(
      "Example:\n"
      "  flashlab validate --measured bench/results/validation_h200_ours.json \\\n"
      "                    --measured bench/results/validation_h200_torch.json \\\n"
      "                    --measured bench/results/validation_h200_dropout.json");
  return {app, [args] { return run_validate(*args); }};
}

}  // namespace flashlab::cli
