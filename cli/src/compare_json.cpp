// The JSON document of `flashlab compare --json` (and report.json of --save).
#include <flashlab/cli/build_info.hpp>
#include <flashlab/cli/compare_output.hpp>
#include <flashlab/cli/json_fields.hpp>

namespace flashlab::cli {
namespace {

nlohmann::json optional_number(const std::optional<double>& v) {
  return v ? number_or_null(*v) : nlohmann::json(nullptr);
}

nlohmann::json pass_json(const PassRun& p) {
  nlohmann::json j;
  j["extra_memory_bytes"] = optional_number(p.extra_memory_bytes);
  j["measured_seconds"] = optional_number(p.measured_seconds);
  j["predicted_seconds"] = p.prediction ? number_or_null(p.prediction->predicted_s) : nullptr;
  j["model"] = p.prediction ? to_json(*p.prediction) : nlohmann::json(nullptr);
  j["io"] = p.io ? to_json(*p.io) : nlohmann::json(nullptr);
  j["tiles"] = p.tiles ? nlohmann::json{{"block_rows", p.tiles->block_rows},
                                        {"block_cols", p.tiles->block_cols}}
                       : nlohmann::json(nullptr);
  return j;
}

}  // namespace

nlohmann::json compare_to_json(const CompareReport& report) {
  nlohmann::json doc;
  doc["flashlab_version"] = flashlab_version();
  doc["command"] = "compare";
  doc["problem"] = to_json(report.problem, report.backward);
  doc["inputs"] = report.inputs;
  doc["backward"] = report.backward;
  nlohmann::json rows = nlohmann::json::array();
  for (size_t r = 0; r < report.runs.size(); ++r) {
    const ImplementationRun& run = report.runs[r];
    const RowCheck& check = report.checks[r];
    nlohmann::json j;
    j["name"] = run.name;
    j["id"] = run.id;
    j["kind"] = to_string(run.kind);
    j["description"] = run.description;
    j["available"] = run.available;
    j["reason_if_absent"] =
        run.available ? nlohmann::json(nullptr) : nlohmann::json(run.reason_if_absent);
    j["measured_on"] = run.available ? nlohmann::json(run.measured_on) : nlohmann::json(nullptr);
    const bool checked = run.available && run.kind != ImplementationKind::Reference;
    j["tolerance_rel_l2"] = checked ? nlohmann::json(check.tolerance) : nlohmann::json(nullptr);
    j["pass"] = checked ? nlohmann::json(check.pass) : nlohmann::json(nullptr);
    nlohmann::json errors = nlohmann::json::object();
    for (const QuantityCheck& c : check.checks)
      errors[to_string(c.quantity)] = {{"max_abs", number_or_null(c.error.max_abs)},
                                       {"rel_l2", number_or_null(c.error.rel_l2)},
                                       {"pass", c.pass}};
    j["errors"] = errors;
    const RowTotals t = row_totals(run);
    j["totals"] = {{"hbm_bytes_read", optional_number(t.hbm_bytes_read)},
                   {"hbm_bytes_written", optional_number(t.hbm_bytes_written)},
                   {"extra_memory_bytes", optional_number(t.extra_memory_bytes)},
                   {"predicted_seconds", optional_number(t.predicted_seconds)},
                   {"measured_seconds", optional_number(t.measured_seconds)}};
    j["forward"] = run.forward ? pass_json(*run.forward) : nlohmann::json(nullptr);
    j["backward"] = run.backward ? pass_json(*run.backward) : nlohmann::json(nullptr);
    j["backward_absent_reason"] = run.backward_absent_reason.empty()
                                      ? nlohmann::json(nullptr)
                                      : nlohmann::json(run.backward_absent_reason);
    rows.push_back(std::move(j));
  }
  doc["implementations"] = std::move(rows);
  doc["pass"] = report.pass;
  doc["verdict"] = verdict_line(report);
  return doc;
}

}  // namespace flashlab::cli
