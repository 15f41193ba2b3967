// The compare table and verdict: errors per quantity, HBM traffic, extra memory and times per row.
#include <flashlab/cli/compare_output.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <flashlab/cli/text_table.hpp>
#include <flashlab/cli/units.hpp>

namespace flashlab::cli {
namespace {

std::vector<Quantity> shown_quantities(bool backward) {
  if (backward) return {Quantity::O, Quantity::lse, Quantity::dQ, Quantity::dK, Quantity::dV};
  return {Quantity::O, Quantity::lse};
}

const QuantityCheck* find_check(const RowCheck& row, Quantity q) {
  for (const QuantityCheck& c : row.checks)
    if (c.quantity == q) return &c;
  return nullptr;
}

void add_optional(std::optional<double>& sum, std::optional<double> value) {
  if (value) sum = sum.value_or(0.0) + *value;
}

std::string or_dash(const std::optional<double>& v, std::string (*format)(double)) {
  return v ? format(*v) : "-";
}

// "8.0x fewer" when `flash` <= `standard`, else "1.6x more" (`less`/`more` name the directions).
std::string ratio(double standard, double flash, const char* less, const char* more) {
  const bool smaller = flash <= standard;
  const double r = smaller ? standard / flash : flash / standard;
  char buffer[48];
  std::snprintf(buffer, sizeof buffer,
                r >= 10  ? "%.0fx %s"
                : r >= 2 ? "%.1fx %s"
                         : "%.2fx %s",
                r, smaller ? less : more);
  return buffer;
}

const ImplementationRun* find_run(const CompareReport& r, const std::string& id) {
  for (const ImplementationRun& run : r.runs)
    if (run.id == id && run.available) return &run;
  return nullptr;
}

std::string tiles_text(const TileSizes& t) {
  return std::to_string(t.block_rows) + "x" + std::to_string(t.block_cols);
}

// Each pass's real tiles: "128x64", or "128x64/64x128" when the backward's differ.
std::string tiles_text(const ImplementationRun& run) {
  const PassRun* f = run.forward && run.forward->tiles ? &*run.forward : nullptr;
  const PassRun* b = run.backward && run.backward->tiles ? &*run.backward : nullptr;
  if (!f && !b) return "-";
  if (!b) return tiles_text(*f->tiles);
  if (!f) return "-/" + tiles_text(*b->tiles);
  const TileSizes& x = *f->tiles;
  const TileSizes& y = *b->tiles;
  if (x.block_rows == y.block_rows && x.block_cols == y.block_cols) return tiles_text(x);
  return tiles_text(x) + "/" + tiles_text(y);
}

}  // namespace

RowTotals row_totals(const ImplementationRun& run) {
  RowTotals t;
  for (const std::optional<PassRun>* pass : {&run.forward, &run.backward}) {
    if (!*pass) continue;
    const PassRun& p = **pass;
    if (p.io) {
      add_optional(t.hbm_bytes_read, double(p.io->bytes_read()));
      add_optional(t.hbm_bytes_written, double(p.io->bytes_written()));
    }
    if (p.extra_memory_bytes)
      t.extra_memory_bytes = std::max(t.extra_memory_bytes.value_or(0.0), *p.extra_memory_bytes);
    if (p.prediction) add_optional(t.predicted_seconds, p.prediction->predicted_s);
    add_optional(t.measured_seconds, p.measured_seconds);
  }
  return t;
}

std::string render_compare_table(const CompareReport& report, const Palette& palette) {
  const std::vector<Quantity> quantities = shown_quantities(report.backward);
  TextTable table;
  table.columns.push_back({"implementation", Align::Left, ""});
  for (Quantity q : quantities) {
    const std::string group = q == Quantity::lse ? "logsumexp" : to_string(q);
    table.columns.push_back({"max abs", Align::Right, group});
    table.columns.push_back({"rel L2", Align::Right, group});
  }
  const std::string pass_label = report.backward ? " (fwd+bwd)" : "";
  for (const char* h : {"Br x Bc", "HBM read", "HBM write", "extra mem", "predicted", "measured"})
    table.columns.push_back(
        {h, Align::Right, std::string(h) == "Br x Bc" ? "" : "cost" + pass_label});
  table.columns.push_back({"check", Align::Left, ""});

  std::vector<std::string> footnotes;
  for (size_t r = 0; r < report.runs.size(); ++r) {
    const ImplementationRun& run = report.runs[r];
    const RowCheck& check = report.checks[r];
    TableRow row;
    row.cells.push_back({run.name, Tone::Plain});
    if (!run.available) {
      row.spanning_note = true;
      row.note = {"absent: " + run.reason_if_absent, Tone::Dim};
      table.rows.push_back(row);
      continue;
    }
    for (Quantity q : quantities) {
      if (run.kind == ImplementationKind::Reference) {
        row.cells.push_back({"-", Tone::Dim});
        row.cells.push_back({"-", Tone::Dim});
        continue;
      }
      const QuantityCheck* c = find_check(check, q);
      if (c == nullptr) {
        row.cells.push_back({"n/a", Tone::Dim});
        row.cells.push_back({"n/a", Tone::Dim});
        continue;
      }
      row.cells.push_back({format_scientific(c->error.max_abs), Tone::Plain});
      row.cells.push_back({format_scientific(c->error.rel_l2), c->pass ? Tone::Good : Tone::Bad});
    }
    const RowTotals t = row_totals(run);
    row.cells.push_back({tiles_text(run), Tone::Plain});
    row.cells.push_back({or_dash(t.hbm_bytes_read, format_bytes), Tone::Plain});
    row.cells.push_back({or_dash(t.hbm_bytes_written, format_bytes), Tone::Plain});
    row.cells.push_back({or_dash(t.extra_memory_bytes, format_bytes), Tone::Plain});
    row.cells.push_back({or_dash(t.predicted_seconds, format_seconds), Tone::Plain});
    row.cells.push_back({or_dash(t.measured_seconds, format_seconds), Tone::Plain});
    if (run.kind == ImplementationKind::Reference) {
      row.cells.push_back({"reference", Tone::Dim});
    } else {
      row.cells.push_back({check.pass ? "pass" : "FAIL", check.pass ? Tone::Good : Tone::Bad});
    }
    if (report.backward && !run.backward && !run.backward_absent_reason.empty())
      footnotes.push_back(run.name + ": forward only (" + run.backward_absent_reason +
                          "); its cost columns count the forward.");
    table.rows.push_back(row);
  }

  std::string out = palette.paint("flashlab compare", Tone::Bold) + ": " +
                    describe(report.problem) + "\ninputs: " + report.inputs + "\n\n" +
                    render(table, palette) + "\n";
  std::string tolerances;
  for (ImplementationKind kind : {ImplementationKind::Simulator, ImplementationKind::Cuda})
    for (size_t r = 0; r < report.runs.size(); ++r)
      if (report.runs[r].kind == kind && report.runs[r].available) {
        tolerances += std::string(tolerances.empty() ? "" : ", ") + to_string(kind) + " " +
                      format_scientific(report.checks[r].tolerance);
        break;
      }
  out +=
      "check: rel L2 error against the float64 reference <= tolerance for every output (" +
      tolerances +
      ").\ncost: simulator counts for the whole problem (Br x Bc: each row's own tiles, forward / "
      "backward where they differ); predicted = the performance model on " +
      report.problem.gpu.name +
      " (compare --why shows its terms); measured = wall clock "
      "where it ran, CUDA rows the median of CUDA-event timings (" +
      report.runs.front().measured_on + " for the reference and the simulator).\n";
  for (const std::string& f : footnotes) out += f + "\n";
  out += model_story(report);
  return out;
}

std::string verdict_line(const CompareReport& report) {
  std::vector<std::string> failures;
  std::string worst_name;
  double worst = 0.0;
  int checked = 0;
  for (size_t r = 0; r < report.runs.size(); ++r) {
    const RowCheck& row = report.checks[r];
    if (row.checks.empty()) continue;
    ++checked;
    for (const QuantityCheck& c : row.checks) {
      if (!c.pass) {
        failures.push_back(report.runs[r].name + " " + to_string(c.quantity) + " rel L2 " +
                           format_scientific(c.error.rel_l2) + " > " +
                           format_scientific(row.tolerance));
      } else if (c.error.rel_l2 >= worst) {
        worst = c.error.rel_l2;
        worst_name = report.runs[r].name + " " + to_string(c.quantity);
      }
    }
  }
  std::string line;
  if (!report.pass) {
    line = "FAIL: ";
    constexpr size_t kShown = 3;
    for (size_t k = 0; k < failures.size() && k < kShown; ++k)
      line += (k ? "; " : "") + failures[k];
    if (failures.size() > kShown)
      line += "; and " + std::to_string(failures.size() - kShown) + " more (see the table)";
    line += ".";
  } else {
    line = "PASS: " + std::to_string(checked) + " of " + std::to_string(checked) +
           " implementations match the reference (worst rel L2 " + format_scientific(worst) +
           (worst_name.empty() ? "" : ", " + worst_name) + ").";
  }
  const ImplementationRun* standard = find_run(report, "standard_sim");
  const ImplementationRun* flash = find_run(report, "flash_sim");
  if (standard && flash) {
    const RowTotals s = row_totals(*standard), f = row_totals(*flash);
    if (s.hbm_bytes_read && f.hbm_bytes_read && s.extra_memory_bytes && f.extra_memory_bytes) {
      const double s_bytes = *s.hbm_bytes_read + *s.hbm_bytes_written;
      const double f_bytes = *f.hbm_bytes_read + *f.hbm_bytes_written;
      line += " FlashAttention vs standard: " + ratio(s_bytes, f_bytes, "fewer", "more") +
              " HBM bytes (" + format_bytes(f_bytes) + " vs " + format_bytes(s_bytes) + "), " +
              ratio(*s.extra_memory_bytes, *f.extra_memory_bytes, "less", "more") + " extra memory";
      if (s.predicted_seconds && f.predicted_seconds && *f.predicted_seconds > 0)
        line += ", predicted " +
                ratio(*s.predicted_seconds, *f.predicted_seconds, "faster", "slower") + " on " +
                report.problem.gpu.name;
      const ImplementationRun* flash2 = find_run(report, "flash2_sim");
      if (flash2) {
        const RowTotals f2 = row_totals(*flash2);
        if (s.predicted_seconds && f2.predicted_seconds && *f2.predicted_seconds > 0)
          line += "; FlashAttention-2 predicted " +
                  ratio(*s.predicted_seconds, *f2.predicted_seconds, "faster", "slower") +
                  " than standard";
      }
      line += ".";
    }
  }
  return line;
}

}  // namespace flashlab::cli
