// Sweep output: the terminal table, CSV, JSON and the two-panel SVG chart.
#include <flashlab/cli/sweep_output.hpp>

#include <algorithm>
#include <cstdio>
#include <flashlab/cli/build_info.hpp>
#include <flashlab/cli/json_fields.hpp>
#include <flashlab/cli/svg_chart.hpp>
#include <flashlab/cli/text_table.hpp>
#include <flashlab/cli/units.hpp>
#include <sstream>

namespace flashlab::cli {
namespace {

constexpr const char* kColors[] = {"#d62728", "#1f77b4", "#2ca02c"};  // standard, flash, flash2

std::string param_label(SweepParam p) {
  switch (p) {
    case SweepParam::N:
      return "sequence length N";
    case SweepParam::HeadDim:
      return "head dimension d";
    case SweepParam::Sram:
      return "SRAM size M";
    case SweepParam::Block:
      return "block size Br = Bc";
    case SweepParam::Density:
      return "block density s";
  }
  return "";
}

std::string pass_name(const SweepResult& r) {
  return r.backward ? "backward" : "forward";
}

// The problem of the first point, less the swept parameter: the chart title's context.
std::string context(const SweepResult& r) {
  const Problem& p = r.points.front().problem;
  std::string c;
  if (r.param != SweepParam::N) c += "N=" + std::to_string(p.shape.seq_q) + " ";
  if (r.param != SweepParam::HeadDim) c += "d=" + std::to_string(p.shape.head_dim) + " ";
  c += "b=" + std::to_string(p.shape.batch) + " h=" + std::to_string(p.shape.heads) + " ";
  if (r.param != SweepParam::Sram)
    c += "M=" + tick_label(double(p.sram_bytes), AxisUnit::Bytes) + " ";
  c += dtype_name(p.dtype);
  if (p.options.causal) c += " causal";
  return c + ", " + p.gpu.name;
}

std::string fixed(double v, const char* format) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, format, v);
  return buffer;
}

}  // namespace

std::string render_sweep_table(const SweepResult& r, const Palette& palette) {
  TextTable t;
  t.columns.push_back({sweep_param_name(r.param), Align::Right, ""});
  t.columns.push_back({"Br x Bc", Align::Right, ""});
  for (const char* name : {"standard", "flash", "flash2"})
    t.columns.push_back({name, Align::Right, "HBM bytes"});
  t.columns.push_back({"std/flash", Align::Right, ""});
  for (const char* name : {"standard", "flash"}) t.columns.push_back({name, Align::Right, "FLOPs"});
  t.columns.push_back({"flash SRAM", Align::Right, ""});
  for (const char* name : {"standard", "flash", "flash2"})
    t.columns.push_back({name, Align::Right, "predicted time"});
  for (const SweepPoint& p : r.points) {
    TableRow row;
    const SweepCell& flash = p.cells[1];
    row.cells.push_back({p.value.label, Tone::Bold});
    row.cells.push_back({flash.available ? std::to_string(flash.tiles.block_rows) + "x" +
                                               std::to_string(flash.tiles.block_cols)
                                         : "-",
                         Tone::Plain});
    for (const SweepCell& c : p.cells)
      row.cells.push_back({c.available ? format_bytes(double(c.stats.total_bytes())) : "n/a",
                           c.available ? Tone::Plain : Tone::Dim});
    const SweepCell& standard = p.cells[0];
    row.cells.push_back(
        {standard.available && flash.available && flash.stats.total_bytes() > 0
             ? fixed(double(standard.stats.total_bytes()) / double(flash.stats.total_bytes()),
                     "%.2fx")
             : "-",
         Tone::Plain});
    for (size_t a = 0; a < 2; ++a) {
      const SweepCell& c = p.cells[a];
      row.cells.push_back({c.available ? format_count(double(c.stats.matmul_flops +
                                                             c.stats.other_flops + c.stats.exp_ops))
                                       : "n/a",
                           Tone::Plain});
    }
    row.cells.push_back(
        {flash.available ? format_bytes(double(flash.stats.peak_sram_bytes)) : "n/a", Tone::Plain});
    for (const SweepCell& c : p.cells)
      row.cells.push_back({c.available ? format_seconds(c.prediction.predicted_s) : "n/a",
                           c.available ? Tone::Plain : Tone::Dim});
    t.rows.push_back(row);
  }
  std::string out = palette.paint("flashlab sweep", Tone::Bold) + ": " + pass_name(r) +
                    " pass vs " + param_label(r.param) + " (" + context(r) +
                    "); simulator counts for the whole problem, FLOPs = matmul + exp + other\n\n" +
                    render(t, palette);
  std::string bounds;
  for (size_t a = 0; a < std::size(kSweepAlgorithms); ++a)
    for (const SweepPoint& p : r.points)
      if (p.cells[a].available) {
        bounds += std::string(bounds.empty() ? "" : ", ") +
                  simulator::to_string(kSweepAlgorithms[a]) + " " + p.cells[a].theta;
        break;
      }
  if (!bounds.empty()) out += "paper's bounds on HBM accesses: " + bounds + "\n";
  // Why cells are n/a: one line per algorithm and reason, listing the points it applies to.
  for (size_t a = 0; a < std::size(kSweepAlgorithms); ++a) {
    struct Reason {
      std::string text, points;
      size_t count = 0;
    };
    std::vector<Reason> reasons;
    for (const SweepPoint& p : r.points) {
      const SweepCell& c = p.cells[a];
      if (c.available) continue;
      auto it = std::find_if(reasons.begin(), reasons.end(),
                             [&](const Reason& x) { return x.text == c.reason; });
      if (it == reasons.end()) it = reasons.insert(reasons.end(), Reason{c.reason, "", 0});
      it->points += (it->count++ ? ", " : "") + p.value.label;
    }
    for (const Reason& x : reasons)
      out += "n/a: " + std::string(simulator::to_string(kSweepAlgorithms[a])) +
             (x.count == r.points.size() ? " at every point"
                                         : " at " + sweep_param_name(r.param) + " = " + x.points) +
             ": " + x.text + "\n";
  }
  return out;
}

std::string sweep_to_csv(const SweepResult& r) {
  std::ostringstream csv;
  csv << "param,value,batch,heads,seq_q,seq_k,head_dim,dtype,sram_bytes,density,pass";
  const char* fields[] = {"block_rows",
                          "block_cols",
                          "hbm_bytes_read",
                          "hbm_bytes_written",
                          "hbm_bytes_total",
                          "matmul_flops",
                          "exp_ops",
                          "other_flops",
                          "random_draws",
                          "peak_sram_bytes",
                          "extra_memory_bytes",
                          "predicted_seconds",
                          "bound",
                          "formula_bytes_total",
                          "theta_elements"};
  for (simulator::Algorithm a : kSweepAlgorithms)
    for (const char* f : fields) csv << "," << simulator::to_string(a) << "_" << f;
  csv << "\n";
  for (const SweepPoint& p : r.points) {
    const Problem& q = p.problem;
    csv << sweep_param_name(r.param) << "," << fixed(p.value.value, "%.17g") << "," << q.shape.batch
        << "," << q.shape.heads << "," << q.shape.seq_q << "," << q.shape.seq_k << ","
        << q.shape.head_dim << "," << dtype_name(q.dtype) << "," << q.sram_bytes << ","
        << (q.options.block_mask ? fixed(q.options.block_mask->density(), "%.17g") : "1") << ","
        << pass_name(r);
    for (const SweepCell& c : p.cells) {
      if (!c.available) {
        csv << std::string(std::size(fields), ',');
        continue;
      }
      csv << "," << c.tiles.block_rows << "," << c.tiles.block_cols << "," << c.stats.bytes_read()
          << "," << c.stats.bytes_written() << "," << c.stats.total_bytes() << ","
          << c.stats.matmul_flops << "," << c.stats.exp_ops << "," << c.stats.other_flops << ","
          << c.stats.random_draws << "," << c.stats.peak_sram_bytes << ","
          << fixed(c.extra_memory_bytes, "%.17g") << "," << fixed(c.prediction.predicted_s, "%.17g")
          << "," << simulator::to_string(c.prediction.bound) << "," << c.formula_bytes << ","
          << fixed(c.theta_elements, "%.17g");
    }
    csv << "\n";
  }
  return csv.str();
}

nlohmann::json sweep_to_json(const SweepResult& r) {
  nlohmann::json doc;
  doc["flashlab_version"] = flashlab_version();
  doc["command"] = "sweep";
  doc["param"] = sweep_param_name(r.param);
  doc["pass"] = pass_name(r);
  nlohmann::json points = nlohmann::json::array();
  for (const SweepPoint& p : r.points) {
    nlohmann::json j;
    j["value"] = p.value.value;
    j["label"] = p.value.label;
    j["problem"] = to_json(p.problem, r.backward);
    nlohmann::json algorithms = nlohmann::json::object();
    for (size_t a = 0; a < p.cells.size(); ++a) {
      const SweepCell& c = p.cells[a];
      nlohmann::json cell;
      cell["available"] = c.available;
      if (c.available) {
        cell["tiles"] = {{"block_rows", c.tiles.block_rows}, {"block_cols", c.tiles.block_cols}};
        cell["io"] = to_json(c.stats);
        cell["model"] = to_json(c.prediction);
        cell["extra_memory_bytes"] = c.extra_memory_bytes;
        cell["formula"] = {{"hbm_bytes_total", c.formula_bytes},
                           {"theta", c.theta},
                           {"theta_elements", c.theta_elements}};
      } else {
        cell["reason"] = c.reason;
      }
      algorithms[simulator::to_string(kSweepAlgorithms[a])] = cell;
    }
    j["algorithms"] = algorithms;
    points.push_back(j);
  }
  doc["points"] = points;
  return doc;
}

std::string sweep_to_svg(const SweepResult& r) {
  const AxisUnit x_unit = r.param == SweepParam::Sram ? AxisUnit::Bytes : AxisUnit::Plain;
  std::vector<double> x_ticks;
  for (const SweepPoint& p : r.points) x_ticks.push_back(p.value.value);
  ChartPanel hbm{"HBM traffic (" + pass_name(r) + ")",
                 param_label(r.param),
                 "HBM bytes read + written",
                 x_unit,
                 AxisUnit::Bytes,
                 x_ticks,
                 {}};
  ChartPanel time{"Predicted time on " + r.points.front().problem.gpu.name,
                  param_label(r.param),
                  "predicted time",
                  x_unit,
                  AxisUnit::Seconds,
                  x_ticks,
                  {}};
  for (size_t a = 0; a < std::size(kSweepAlgorithms); ++a) {
    ChartSeries bytes{simulator::to_string(kSweepAlgorithms[a]), kColors[a], a == 2, {}, {}};
    ChartSeries seconds = bytes;
    for (const SweepPoint& p : r.points) {
      const SweepCell& c = p.cells[a];
      if (!c.available) continue;
      bytes.x.push_back(p.value.value);
      bytes.y.push_back(double(c.stats.total_bytes()));
      seconds.x.push_back(p.value.value);
      seconds.y.push_back(c.prediction.predicted_s);
    }
    if (bytes.x.empty()) continue;
    hbm.series.push_back(bytes);
    time.series.push_back(seconds);
  }
  return render_svg_chart(
      "Standard attention vs FlashAttention: " + pass_name(r) + " pass vs " + param_label(r.param),
      "flashlab sweep, simulator counts: " + context(r), {hbm, time});
}

}  // namespace flashlab::cli
