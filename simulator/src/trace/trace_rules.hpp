// The rules a trace read from JSON must keep beyond field types (docs/trace-format.md, "Limits
// and rules"): every value inside the shape it declares, every count exact, and a tile grid no
// larger than the events that the file holds, so that whatever a reader allocates per block (the
// visualizer's grids, its re-run of the algorithm) is bounded by the size of the file.
// Private to trace/; the JSON reader calls these after the fields are read.
#pragma once

#include <cstddef>
#include <string>

#include <flashlab/simulator/trace/trace.hpp>

namespace flashlab::simulator::trace_rules {

// Throws flashlab::Error "trace JSON: <where>: <what>".
[[noreturn]] void fail(const std::string& where, const std::string& what);

// "events[3]"
std::string element_path(const char* array, size_t k);

// The header's values: shape, tiles, SRAM, element size, scale, dropout.
void check_header(const Trace& t);

// One softmax row (k = its index) against the shape.
void check_row(const Trace& t, const SoftmaxRow& row, size_t k);

// One event (k = its index) against the header and the softmax rows.
void check_event(const Trace& t, const Event& e, size_t k);

// The whole trace: the tile grid of a head against the number of events, and the sums of bytes,
// FLOPs and exps within int64.
void check_totals(const Trace& t);

}  // namespace flashlab::simulator::trace_rules
