// The forms of a sweep's result: a table for the terminal, CSV and JSON for scripts and
// notebooks, and an SVG chart (HBM traffic and predicted time against the swept parameter).
#pragma once

#include <string>

#include <flashlab/cli/sweep.hpp>
#include <flashlab/cli/terminal.hpp>
#include <nlohmann/json.hpp>

namespace flashlab::cli {

std::string render_sweep_table(const SweepResult& result, const Palette& palette);

// One header line, then one line per point; columns listed in docs/cli.md. Cells of an
// algorithm that did not run are empty.
std::string sweep_to_csv(const SweepResult& result);

nlohmann::json sweep_to_json(const SweepResult& result);

std::string sweep_to_svg(const SweepResult& result);

}  // namespace flashlab::cli
