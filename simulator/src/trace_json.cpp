// Trace <-> JSON (schema in docs/trace-format.md). Floats that JSON cannot hold (-inf for the
// initial m, NaN) are written as the strings "-inf", "inf", "nan".
#include <flashlab/simulator/trace_json.hpp>

#include <cmath>
#include <istream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <unordered_map>

#include <flashlab/core/error.hpp>

namespace flashlab::simulator {
namespace {
using nlohmann::json;

constexpr const char* kFormat = "flashlab-trace";
constexpr EventKind kKinds[] = {EventKind::Load, EventKind::Store,   EventKind::Alloc,
                                EventKind::Free, EventKind::Compute, EventKind::SoftmaxUpdate,
                                EventKind::Skip};

json number(float x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return x;
}

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw Error("trace JSON: " + where + ": " + what);
}

const json& field(const json& obj, const char* key, const std::string& where) {
  if (!obj.is_object()) fail(where, "expected an object");
  const auto it = obj.find(key);
  if (it == obj.end()) fail(where + "." + key, "missing");
  return *it;
}

int64_t integer(const json& v, const std::string& where) {
  if (!v.is_number_integer()) fail(where, "expected an integer, got " + v.dump());
  return v.get<int64_t>();
}

int64_t integer_or(const json& obj, const char* key, int64_t fallback, const std::string& where) {
  const auto it = obj.find(key);
  return it == obj.end() ? fallback : integer(*it, where + "." + key);
}

double real(const json& v, const std::string& where) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "-inf") return -INFINITY;
    if (s == "inf") return INFINITY;
    if (s == "nan") return NAN;
  }
  fail(where, "expected a number (or \"-inf\", \"inf\", \"nan\"), got " + v.dump());
}

bool boolean(const json& v, const std::string& where) {
  if (!v.is_boolean()) fail(where, "expected true or false, got " + v.dump());
  return v.get<bool>();
}

std::string text(const json& v, const std::string& where) {
  if (!v.is_string()) fail(where, "expected a string, got " + v.dump());
  return v.get<std::string>();
}

EventKind kind_from(const std::string& s, const std::string& where) {
  for (EventKind k : kKinds)
    if (s == to_string(k)) return k;
  fail(where, "unknown event kind '" + s +
                  "'; accepted: load, store, alloc, free, compute, softmax, skip");
}

}  // namespace

json to_json(const Trace& t) {
  json doc;
  doc["format"] = kFormat;
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

Trace trace_from_json(const json& doc) {
  Trace t;
  const std::string root = "trace";
  if (text(field(doc, "format", root), "format") != kFormat)
    fail("format", "expected \"" + std::string(kFormat) + "\"");
  const int64_t version = integer(field(doc, "version", root), "version");
  if (version != kTraceFormatVersion)
    fail("version", "unsupported version " + std::to_string(version) + "; this reader reads " +
                        std::to_string(kTraceFormatVersion));
  try {
    t.algorithm = algorithm_from_string(text(field(doc, "algorithm", root), "algorithm"));
  } catch (const Error& e) {
    fail("algorithm", e.what());
  }
  const std::string pass = text(field(doc, "pass", root), "pass");
  if (pass != "forward" && pass != "backward")
    fail("pass", "expected \"forward\" or \"backward\", got \"" + pass + "\"");
  t.backward = pass == "backward";
  t.title = text(field(doc, "title", root), "title");
  const json& code = field(doc, "pseudo_code", root);
  if (!code.is_array()) fail("pseudo_code", "expected an array of strings");
  for (size_t k = 0; k < code.size(); ++k)
    t.pseudo_code.push_back(text(code[k], "pseudo_code[" + std::to_string(k) + "]"));

  const json& shape = field(doc, "shape", root);
  t.shape.batch = integer(field(shape, "batch", "shape"), "shape.batch");
  t.shape.heads = integer(field(shape, "heads", "shape"), "shape.heads");
  t.shape.seq_q = integer(field(shape, "seq_q", "shape"), "shape.seq_q");
  t.shape.seq_k = integer(field(shape, "seq_k", "shape"), "shape.seq_k");
  t.shape.head_dim = integer(field(shape, "head_dim", "shape"), "shape.head_dim");
  try {
    validate(t.shape);
  } catch (const Error& e) {
    fail("shape", e.what());
  }
  const json& tiles = field(doc, "tiles", root);
  t.tiles.block_rows = integer(field(tiles, "block_rows", "tiles"), "tiles.block_rows");
  t.tiles.block_cols = integer(field(tiles, "block_cols", "tiles"), "tiles.block_cols");
  if (t.tiles.block_rows < 1 || t.tiles.block_cols < 1) fail("tiles", "block sizes must be >= 1");
  t.sram_capacity_bytes = integer(field(doc, "sram_capacity_bytes", root), "sram_capacity_bytes");
  t.element_bytes = int(integer(field(doc, "element_bytes", root), "element_bytes"));
  if (t.sram_capacity_bytes < 1 || t.element_bytes < 1)
    fail("sram_capacity_bytes/element_bytes", "must be >= 1");
  const json& opt = field(doc, "options", root);
  t.softmax_scale = real(field(opt, "softmax_scale", "options"), "options.softmax_scale");
  t.causal = boolean(field(opt, "causal", "options"), "options.causal");
  t.dropout_p = real(field(opt, "dropout_p", "options"), "options.dropout_p");
  t.block_sparse = boolean(field(opt, "block_sparse", "options"), "options.block_sparse");

  const json& rows = field(doc, "softmax_rows", root);
  if (!rows.is_array()) fail("softmax_rows", "expected an array");
  t.softmax_rows.reserve(rows.size());
  for (size_t k = 0; k < rows.size(); ++k) {
    const std::string w = "softmax_rows[" + std::to_string(k) + "]";
    const json& r = rows[k];
    if (!r.is_array() || r.size() != 6)
      fail(w, "expected [row, m_old, l_old, m_new, l_new, rescale]");
    t.softmax_rows.push_back({integer(r[0], w + "[0]"), float(real(r[1], w + "[1]")),
                              float(real(r[2], w + "[2]")), float(real(r[3], w + "[3]")),
                              float(real(r[4], w + "[4]")), float(real(r[5], w + "[5]"))});
  }

  std::unordered_map<std::string, const char*> ops;  // one copy of each distinct text
  auto intern = [&](const std::string& s) {
    const auto it = ops.find(s);
    return it != ops.end() ? it->second : ops.emplace(s, t.intern(s)).first->second;
  };
  const json& events = field(doc, "events", root);
  if (!events.is_array()) fail("events", "expected an array");
  t.events.reserve(events.size());
  for (size_t k = 0; k < events.size(); ++k) {
    const std::string w = "events[" + std::to_string(k) + "]";
    const json& j = events[k];
    Event e;
    e.kind = kind_from(text(field(j, "kind", w), w + ".kind"), w + ".kind");
    e.line = int(integer(field(j, "line", w), w + ".line"));
    if (e.line < 0 || e.line > int(t.pseudo_code.size()))
      fail(w + ".line", std::to_string(e.line) + " is not a line of pseudo_code (1.." +
                            std::to_string(t.pseudo_code.size()) + ")");
    e.batch = integer(field(j, "batch", w), w + ".batch");
    e.head = integer(field(j, "head", w), w + ".head");
    const std::string tensor = text(field(j, "tensor", w), w + ".tensor");
    const auto id = tensor_from_name(tensor);
    if (!id) fail(w + ".tensor", "unknown tensor '" + tensor + "'");
    e.tensor = *id;
    const json& rect = field(j, "rect", w);
    if (!rect.is_array() || rect.size() != 4)
      fail(w + ".rect", "expected [row0, rows, col0, cols]");
    e.rect = {integer(rect[0], w + ".rect[0]"), integer(rect[1], w + ".rect[1]"),
              integer(rect[2], w + ".rect[2]"), integer(rect[3], w + ".rect[3]")};
    if (e.rect.row0 < 0 || e.rect.rows < 0 || e.rect.col0 < 0 || e.rect.cols < 0)
      fail(w + ".rect", "entries must be >= 0");
    e.op = intern(text(field(j, "op", w), w + ".op"));
    e.i = integer(field(j, "i", w), w + ".i");
    e.j = integer(field(j, "j", w), w + ".j");
    e.sram_used_bytes = integer(field(j, "sram_used_bytes", w), w + ".sram_used_bytes");
    e.bytes = integer_or(j, "bytes", 0, w);
    e.flops = integer_or(j, "flops", 0, w);
    e.exps = integer_or(j, "exps", 0, w);
    e.softmax_first = integer_or(j, "softmax_first", 0, w);
    e.softmax_count = integer_or(j, "softmax_count", 0, w);
    if (e.softmax_first < 0 || e.softmax_count < 0 ||
        e.softmax_first + e.softmax_count > int64_t(t.softmax_rows.size()))
      fail(w + ".softmax_first/softmax_count",
           "outside softmax_rows (" + std::to_string(t.softmax_rows.size()) + " rows)");
    t.events.push_back(e);
  }
  return t;
}

Trace read_trace_json(std::istream& in) {
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::parse_error& e) {
    throw Error(std::string("trace JSON: not valid JSON: ") + e.what());
  }
  return trace_from_json(doc);
}

}  // namespace flashlab::simulator
