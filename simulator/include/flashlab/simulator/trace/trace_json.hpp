// The trace as JSON (schema: docs/trace-format.md), written by `flashlab trace` and read back by
// the visualizer. read_trace_json validates the document and throws flashlab::Error on any
// missing, ill-typed or out-of-range field, naming it; it streams the events, so a 100k-event
// trace reads in a fraction of a second.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string_view>

#include <flashlab/simulator/trace/trace.hpp>
#include <nlohmann/json_fwd.hpp>

namespace flashlab::simulator {

inline constexpr int kTraceFormatVersion = 1;
inline constexpr const char* kTraceFormatName = "flashlab-trace";  // the "format" field

// The largest trace read_trace_json reads: 1 GiB of JSON text (about 3.5 million events).
// Everything else a trace makes a reader allocate is bounded by what the file holds, or by a
// constant: the tile grid of a head, ceil(seq_q / Br) x ceil(seq_k / Bc), may not exceed the
// number of events (every block is either computed or skipped, and each leaves an event) or
// kTraceBlocksWithoutEvents, whichever is larger: a student's run that stopped early (the labs'
// --trace) holds fewer events than blocks. docs/trace-format.md, "Limits and rules", lists every
// rule.
inline constexpr int64_t kMaxTraceJsonBytes = int64_t{1} << 30;
inline constexpr int64_t kTraceBlocksWithoutEvents = int64_t{1} << 16;

nlohmann::json to_json(const Trace& trace);
void write_trace_json(const Trace& trace, std::ostream& out);

Trace read_trace_json(std::string_view json_text);
Trace read_trace_json(std::istream& in);  // reads the stream to its end, then as above

}  // namespace flashlab::simulator
