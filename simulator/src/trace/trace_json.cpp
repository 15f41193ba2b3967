// Writing a trace as JSON (schema in docs/trace-format.md; the reader is trace_json_read.cpp).
// Floats that JSON cannot hold (-inf for the initial m, NaN) are written as the strings "-inf",
// "inf", "nan".
#include <flashlab/simulator/trace/trace_json.hpp>

#include <cmath>
#include <nlohmann/json.hpp>
#include <ostream>

#include <flashlab/core/error.hpp>

namespace flashlab::simulator {
namespace {
using nlohmann::json;

json number(float x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return x;
}

}  // namespace

json to_json(const Trace& t) {
  json doc;
  doc["format"] = kTraceFormatName;
  doc["version"] = kTraceFormatVersion;
  doc["algorithm"] = to_string(t.algorithm);
  doc["pass"] = t.backward ? "backward" : "forward";
  doc["title"] = t.title;
  doc["pseudo_code"] = t.pseudo_code;
  doc["shape"] = {{"batch", t.shape.batch},
                  {"heads", t.shape.heads},
                  {"seq_q", t.shape.seq_q},
                  {"seq_k", t.shape.seq_k},
                  {"head_dim", t.shape.head_dim}};
  doc["tiles"] = {{"block_rows", t.tiles.block_rows}, {"block_cols", t.tiles.block_cols}};
  doc["sram_capacity_bytes"] = t.sram_capacity_bytes;
  doc["element_bytes"] = t.element_bytes;
  doc["options"] = {{"softmax_scale", t.softmax_scale},
                    {"causal", t.causal},
                    {"dropout_p", t.dropout_p},
                    {"block_sparse", t.block_sparse}};
  json events = json::array();
  for (const Event& e : t.events) {
    json j = {{"kind", to_string(e.kind)},
              {"line", e.line},
              {"batch", e.batch},
              {"head", e.head},
              {"tensor", tensor_name(e.tensor)},
              {"rect", {e.rect.row0, e.rect.rows, e.rect.col0, e.rect.cols}},
              {"op", e.op ? e.op : ""},
              {"i", e.i},
              {"j", e.j},
              {"sram_used_bytes", e.sram_used_bytes}};
    if (e.bytes != 0) j["bytes"] = e.bytes;
    if (e.flops != 0) j["flops"] = e.flops;
    if (e.exps != 0) j["exps"] = e.exps;
    if (e.softmax_count != 0) {
      j["softmax_first"] = e.softmax_first;
      j["softmax_count"] = e.softmax_count;
    }
    events.push_back(std::move(j));
  }
  doc["events"] = std::move(events);
  json rows = json::array();
  for (const SoftmaxRow& r : t.softmax_rows)
    rows.push_back({r.row, number(r.m_old), number(r.l_old), number(r.m_new), number(r.l_new),
                    number(r.rescale)});
  doc["softmax_rows"] = std::move(rows);
  return doc;
}

void write_trace_json(const Trace& trace, std::ostream& out) {
  out << to_json(trace).dump() << '\n';
  require(out.good(), "could not write the trace JSON");
}

}  // namespace flashlab::simulator
