// How a compare report is shown: the table (one row per implementation), the verdict line, and
// the JSON document of --json / --save, which holds the same numbers at full precision.
#pragma once

#include <optional>
#include <string>

#include <flashlab/cli/compare.hpp>
#include <flashlab/cli/terminal.hpp>
#include <nlohmann/json.hpp>

namespace flashlab::cli {

// What the cost columns of a row show: the sums over the passes it ran (forward, and backward
// with --backward); extra memory is the most any pass keeps. Unset where it does not apply.
struct RowTotals {
  std::optional<double> hbm_bytes_read, hbm_bytes_written, extra_memory_bytes;
  std::optional<double> predicted_seconds, measured_seconds;
};
RowTotals row_totals(const ImplementationRun& run);

// The header line, the table and its footnotes (no verdict).
std::string render_compare_table(const CompareReport& report, const Palette& palette);

// One line: "PASS: ..." or "FAIL: ...", with what the run shows about HBM traffic and memory.
std::string verdict_line(const CompareReport& report);

nlohmann::json compare_to_json(const CompareReport& report);

// Closing lines in a student's words: FA2 against FA1 on this problem (parallelism, traffic,
// rescaling, and which is predicted faster), and what the performance model leaves out.
std::string model_story(const CompareReport& report);

// compare --why: every launch of every prediction with its terms (units, waves, compute by
// unit, L2 and DRAM bytes and times, launch cost, the bound).
std::string model_breakdown(const CompareReport& report, const Palette& palette);

}  // namespace flashlab::cli
