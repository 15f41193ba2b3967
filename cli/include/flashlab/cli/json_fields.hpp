// JSON pieces shared by compare, sweep and info: the problem, the GPU preset, IoStats and the
// roofline, so each document spells them the same way. Non-finite numbers become null.
#pragma once

#include <flashlab/cli/problem.hpp>
#include <flashlab/simulator/machine/io_stats.hpp>
#include <flashlab/simulator/model/gpu_spec.hpp>
#include <flashlab/simulator/model/performance_model.hpp>
#include <nlohmann/json.hpp>

namespace flashlab::cli {

nlohmann::json number_or_null(double value);
// The problem, with the tiles each algorithm uses on it (its backward's too when `backward`).
nlohmann::json to_json(const Problem& problem, bool backward);
nlohmann::json to_json(const simulator::GpuSpec& gpu);
// Totals, FLOPs, peak SRAM and traffic per tensor (tensors without traffic left out).
nlohmann::json to_json(const simulator::IoStats& stats);
nlohmann::json to_json(const simulator::LaunchPrediction& launch);
nlohmann::json to_json(const simulator::Prediction& prediction);

}  // namespace flashlab::cli
