// The trace as JSON (schema: docs/trace-format.md), written by `flashlab trace` and read back by
// the visualizer. read_trace_json validates the document and throws flashlab::Error on any
// missing or ill-typed field, naming it; it streams the events, so a 100k-event trace reads in a
// fraction of a second.
#pragma once

#include <iosfwd>
#include <string_view>

#include <flashlab/simulator/trace/trace.hpp>
#include <nlohmann/json_fwd.hpp>

namespace flashlab::simulator {

inline constexpr int kTraceFormatVersion = 1;
inline constexpr const char* kTraceFormatName = "flashlab-trace";  // the "format" field

nlohmann::json to_json(const Trace& trace);
void write_trace_json(const Trace& trace, std::ostream& out);

Trace read_trace_json(std::string_view json_text);
Trace read_trace_json(std::istream& in);  // reads the stream to its end, then as above

}  // namespace flashlab::simulator
