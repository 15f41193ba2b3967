// The trace as JSON (schema: docs/trace-format.md), written by `flashlab trace` and read back by
// the visualizer. read_trace_json validates the document and throws flashlab::Error on any
// missing or ill-typed field, naming it.
#pragma once

#include <iosfwd>

#include <flashlab/simulator/trace.hpp>
#include <nlohmann/json_fwd.hpp>

namespace flashlab::simulator {

inline constexpr int kTraceFormatVersion = 1;

nlohmann::json to_json(const Trace& trace);
void write_trace_json(const Trace& trace, std::ostream& out);

Trace trace_from_json(const nlohmann::json& doc);
Trace read_trace_json(std::istream& in);

}  // namespace flashlab::simulator
