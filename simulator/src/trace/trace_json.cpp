// Writing a trace as JSON (schema in docs/trace-format.md; the reader is trace_json_read.cpp).
// Floats that JSON cannot hold (-inf for the initial m, NaN) are written as the strings "-inf",
// "inf", "nan". write_trace_json streams the events and rows one at a time, so writing a trace
// costs no more memory than the trace itself (a document of 150k events held as nlohmann::json
// objects takes about ten times its text).
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

json event_json(const Event& e) {
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
  if (e.draws != 0) j["draws"] = e.draws;
  if (e.softmax_count != 0) {
    j["softmax_first"] = e.softmax_first;
    j["softmax_count"] = e.softmax_count;
  }
  return j;
}

json row_json(const SoftmaxRow& r) {
  return {r.row,           number(r.m_old), number(r.l_old),
          number(r.m_new), number(r.l_new), number(r.rescale)};
}

// Every field but events and softmax_rows.
json header_json(const Trace& t) {
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
                    {"block_sparse", t.block_sparse},
                    {"kept_max", t.kept_max}};
  return doc;
}

}  // namespace

json to_json(const Trace& t) {
  json doc = header_json(t);
  json events = json::array();
  for (const Event& e : t.events) events.push_back(event_json(e));
  doc["events"] = std::move(events);
  json rows = json::array();
  for (const SoftmaxRow& r : t.softmax_rows) rows.push_back(row_json(r));
  doc["softmax_rows"] = std::move(rows);
  return doc;
}

void write_trace_json(const Trace& trace, std::ostream& out) {
  std::string header = header_json(trace).dump();
  header.pop_back();  // the closing brace: the two arrays follow
  out << header << ",\"events\":[";
  for (size_t k = 0; k < trace.events.size(); ++k)
    out << (k ? "," : "") << event_json(trace.events[k]).dump();
  out << "],\"softmax_rows\":[";
  for (size_t k = 0; k < trace.softmax_rows.size(); ++k)
    out << (k ? "," : "") << row_json(trace.softmax_rows[k]).dump();
  out << "]}\n";
  require(out.good(), "could not write the trace JSON");
}

}  // namespace flashlab::simulator
