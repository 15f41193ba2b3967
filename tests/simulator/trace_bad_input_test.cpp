// The bad-input table of the trace format: every field of a trace (header, each event field, each
// softmax row entry), given the wrong type, out of range, huge, negative or missing, is refused
// with one flashlab::Error whose message names the field's path. A test below walks a real trace
// and fails for any field the table lacks, so the table grows with the format. To add a field:
// one row in kFields. (flashlab-viz --trace turns these errors into exit 2: tests/visualizer.)
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <flashlab/core/error.hpp>
#include <flashlab/simulator/simulate.hpp>
#include <flashlab/simulator/trace/trace_json.hpp>
#include <flashlab/test/random.hpp>
#include <nlohmann/json.hpp>

#include "trace_kinds.hpp"

namespace flashlab::simulator {
namespace {

using nlohmann::json;

// A bad value for a field: `value` replaces it (nullopt: the field is removed), and the message
// must contain `says` after the path; `path` overrides the path it must name, in the table's
// notation (a rule about the whole shape names "shape", one about a rectangle "events[].rect").
// A missing top-level field is named "trace.<field>".
struct Bad {
  const char* kind;  // "wrong type", "out of range", "huge", "negative", "missing"
  std::optional<json> value;
  const char* says = "";
  const char* path = nullptr;
};

// A field by its path: "shape.seq_q", "events[].rect" (in the first event of `event_kind`),
// "events[].rect[1]", "softmax_rows[][3]", "pseudo_code[]".
struct Field {
  const char* path;
  const char* event_kind;  // for events[] fields: which event to edit ("" = the first)
  std::vector<Bad> bad;
};

const json kHuge = 9223372036854775807LL;  // int64 max: never a valid size, index or count
const json kBeyondInt64 = 18446744073709551615ULL;

// A small valid trace: FlashAttention forward, causal, every (batch, head) recorded, so that
// batch, head and the tile grid all have bounds to break.
json good_trace() {
  SimConfig c;
  c.algorithm = Algorithm::Flash;
  c.shape = {2, 1, 9, 13, 4};
  c.options.causal = true;
  c.tiles = TileSizes{4, 6};
  c.record_trace = true;
  FLASHLAB_TEST_RNG(rng, "trace bad input");
  const auto Q = test::random_tensor<float>(rng, q_dims(c.shape));
  const auto K = test::random_tensor<float>(rng, kv_dims(c.shape));
  return to_json(simulate_forward(c, &Q, &K, &K).trace);
}

const std::vector<Field>& fields() {
  static const std::vector<Field> table = {
      {"format", "", {{"wrong type", 1}, {"out of range", "flashlab-trace-2"}, {"missing", {}}}},
      {"version",
       "",
       {{"wrong type", "1"},
        {"out of range", 2},
        {"huge", kHuge},
        {"negative", -1},
        {"missing", {}}}},
      {"algorithm", "", {{"wrong type", 3}, {"out of range", "fa3"}, {"missing", {}}}},
      {"pass", "", {{"wrong type", true}, {"out of range", "sideways"}, {"missing", {}}}},
      {"title", "", {{"wrong type", json::array()}, {"missing", {}}}},
      {"pseudo_code", "", {{"wrong type", "line"}, {"missing", {}}}},
      {"pseudo_code[]", "", {{"wrong type", 7}}},
      {"shape", "", {{"wrong type", json::array()}, {"missing", {}}}},
      {"shape.batch",
       "",
       {{"wrong type", "2"},
        {"out of range", 0},
        {"huge", kHuge},
        {"negative", -2},
        {"missing", {}}}},
      {"shape.heads",
       "",
       {{"wrong type", 2.5},
        {"out of range", 0},
        {"huge", kBeyondInt64},
        {"negative", -1},
        {"missing", {}}}},
      {"shape.seq_q",
       "",
       {{"wrong type", nullptr},
        {"out of range", 0},
        {"negative", -13},
        {"missing", {}},
        // The case: a small file that claims a huge sequence (10^8) is refused by the
        // blocks-per-event rule before anything is allocated per block.
        {"huge", 100000000, "blocks per head, but the trace holds only", "shape"}}},
      {"shape.seq_k",
       "",
       {{"wrong type", "21"},
        {"out of range", int64_t{1} << 31},
        {"negative", -1},
        {"missing", {}},
        {"huge", 1000000000, "blocks per head", "shape"}}},
      {"shape.head_dim",
       "",
       {{"wrong type", false},
        {"out of range", 0},
        {"huge", kHuge},
        {"negative", -4},
        {"missing", {}}}},
      {"tiles", "", {{"wrong type", 4}, {"missing", {}}}},
      {"tiles.block_rows",
       "",
       {{"wrong type", "4"},
        {"out of range", 0},
        {"huge", kHuge},
        {"negative", -4},
        {"missing", {}}}},
      {"tiles.block_cols",
       "",
       {{"wrong type", 6.5},
        {"out of range", 0},
        {"huge", int64_t{1} << 31},
        {"negative", -6},
        {"missing", {}}}},
      {"sram_capacity_bytes",
       "",
       {{"wrong type", "48KiB"},
        {"out of range", 0},
        {"huge", kHuge},
        {"negative", -1},
        {"missing", {}}}},
      {"element_bytes",
       "",
       {{"wrong type", "2"}, {"out of range", 0}, {"huge", 9}, {"negative", -2}, {"missing", {}}}},
      {"options", "", {{"wrong type", json::array()}, {"missing", {}}}},
      {"options.softmax_scale",
       "",
       {{"wrong type", true},
        {"out of range", 0},
        {"huge", "inf"},
        {"negative", -0.5},
        {"missing", {}}}},
      {"options.causal", "", {{"wrong type", 1}, {"missing", {}}}},
      {"options.dropout_p",
       "",
       {{"wrong type", "0"},
        {"out of range", 1},
        {"huge", "nan"},
        {"negative", -0.1},
        {"missing", {}}}},
      {"options.block_sparse", "", {{"wrong type", "no"}, {"missing", {}}}},
      // Optional (false when absent); true only on flash2's forward, and this trace is FA1's.
      {"options.kept_max",
       "",
       {{"wrong type", "yes"},
        {"out of range", true, "true, but only flash2's forward keeps its running max"}}},
      {"events", "", {{"wrong type", json::object()}, {"missing", {}}}},
      {"events[]", "", {{"wrong type", json::array()}}},
      {"events[].kind", "", {{"wrong type", 1}, {"out of range", "lod"}, {"missing", {}}}},
      {"events[].line",
       "",
       {{"wrong type", "1"},
        {"out of range", 0},
        {"huge", kHuge},
        {"negative", -1},
        {"missing", {}}}},
      {"events[].batch",
       "",
       {{"wrong type", 0.5},
        {"out of range", 2},
        {"huge", kBeyondInt64},
        {"negative", -1},
        {"missing", {}}}},
      {"events[].head",
       "",
       {{"wrong type", "0"},
        {"out of range", 2},
        {"huge", kHuge},
        {"negative", -1},
        {"missing", {}}}},
      {"events[].tensor", "", {{"wrong type", 0}, {"out of range", "W"}, {"missing", {}}}},
      {"events[].rect",
       "load",
       {{"wrong type", "0,4,0,4"},
        {"out of range", json::array({20, 4, 0, 4}), "lies outside"},
        {"huge", json::array({0, kHuge, 0, 4})},
        {"negative", json::array({0, -4, 0, 4})},
        {"missing", {}}}},
      {"events[].rect[0]",
       "load",
       {{"wrong type", "0"},
        {"out of range", 100, "lies outside", "events[].rect"},
        {"negative", -1, "entries must be >= 0", "events[].rect"}}},
      {"events[].rect[1]", "load", {{"wrong type", 4.5}, {"huge", kBeyondInt64}}},
      {"events[].rect[2]",
       "load",
       {{"wrong type", nullptr}, {"out of range", 1, "lies outside", "events[].rect"}}},
      {"events[].rect[3]",
       "load",
       {{"wrong type", true},
        {"out of range", 5, "lies outside", "events[].rect"},
        {"negative", -4, "entries must be >= 0", "events[].rect"}}},
      {"events[].op", "", {{"wrong type", 3}, {"missing", {}}}},
      {"events[].i",
       "load",
       {{"wrong type", "0"},
        {"out of range", 4},
        {"huge", kHuge},
        {"negative", -2},
        {"missing", {}}}},
      {"events[].j",
       "load",
       {{"wrong type", 1.5},
        {"out of range", 4},
        {"huge", kHuge},
        {"negative", -2},
        {"missing", {}}}},
      {"events[].sram_used_bytes",
       "",
       {{"wrong type", "0"},
        {"out of range", 1 << 30},
        {"huge", kHuge},
        {"negative", -1},
        {"missing", {}}}},
      // Optional fields (0 when absent): missing is valid, so only the others.
      {"events[].bytes",
       "load",
       {{"wrong type", "8"}, {"out of range", 7}, {"huge", kHuge}, {"negative", -32}}},
      {"events[].flops",
       "compute",
       {{"wrong type", "1"}, {"huge", kBeyondInt64}, {"negative", -1}}},
      {"events[].exps", "softmax", {{"wrong type", 1.5}, {"negative", -3}}},
      {"events[].draws",
       "compute",
       {{"wrong type", "8"},
        {"out of range", 8, "but the trace has no dropout"},
        {"negative", -8}}},
      {"events[].softmax_first",
       "softmax",
       {{"wrong type", "0"}, {"out of range", 1000000}, {"huge", kHuge}, {"negative", -1}}},
      {"events[].softmax_count",
       "softmax",
       {{"wrong type", "4"},
        {"out of range", 1000000, "outside softmax_rows", "events[].softmax_first/softmax_count"},
        {"huge", kHuge, "outside softmax_rows", "events[].softmax_first/softmax_count"},
        {"negative", -1, "must be >= 0", "events[].softmax_first/softmax_count"}}},
      {"softmax_rows", "", {{"wrong type", "rows"}, {"missing", {}}}},
      {"softmax_rows[]", "", {{"wrong type", 5}, {"out of range", json::array({0, 1, 2})}}},
      {"softmax_rows[][0]",
       "",
       {{"wrong type", 0.5}, {"out of range", 13}, {"huge", kHuge}, {"negative", -1}}},
      {"softmax_rows[][1]", "", {{"wrong type", true}}},
      {"softmax_rows[][2]", "", {{"wrong type", "big"}}},
      {"softmax_rows[][3]", "", {{"wrong type", json::array()}}},
      {"softmax_rows[][4]", "", {{"wrong type", nullptr}}},
      {"softmax_rows[][5]", "", {{"wrong type", json::object()}}},
  };
  return table;
}

// The index of the first event of `kind` ("" = 0).
size_t event_of(const json& doc, const std::string& kind) {
  for (size_t k = 0; k < doc["events"].size(); ++k)
    if (kind.empty() || doc["events"][k]["kind"] == kind) return k;
  FAIL("the trace has no " << kind << " event");
  return 0;
}

// The concrete path of `field` in `doc` ("events[].rect" -> "events[5].rect") and the JSON
// pointer to it.
std::pair<std::string, json::json_pointer> locate(const json& doc, const Field& field) {
  std::string path = field.path, pointer;
  const auto replace = [&](const std::string& from, const std::string& index) {
    const size_t at = path.find(from);
    path.replace(at, from.size(), "[" + index + "]");
  };
  if (path.rfind("events[]", 0) == 0)
    replace("[]", std::to_string(event_of(doc, field.event_kind)));
  if (path.rfind("softmax_rows[]", 0) == 0) replace("[]", "2");
  if (path.rfind("pseudo_code[]", 0) == 0) replace("[]", "1");
  for (const char c : path) pointer += c == '.' || c == '[' ? '/' : c == ']' ? '\0' : c;
  pointer.erase(std::remove(pointer.begin(), pointer.end(), '\0'), pointer.end());
  return {path, json::json_pointer("/" + pointer)};
}

std::string error_of(const json& doc) {
  try {
    read_trace_json(doc.dump());
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

// Every field path of a document, as kFields writes them.
void collect_paths(const json& v, const std::string& path, std::set<std::string>& out) {
  if (!path.empty()) out.insert(path);
  if (v.is_object()) {
    for (const auto& [key, value] : v.items())
      collect_paths(value, path.empty() ? key : path + "." + key, out);
  } else if (v.is_array()) {
    // Entries of arrays of containers or of the fixed-size arrays (rect, a softmax row).
    const bool fixed = path.find("rect") != std::string::npos || path == "softmax_rows[]";
    for (size_t k = 0; k < v.size(); ++k)
      if (!v[k].is_primitive() || fixed || path == "pseudo_code")
        collect_paths(v[k], path + "[" + (fixed ? std::to_string(k) : "") + "]", out);
  }
}

}  // namespace

// The other side of the rules: nothing the simulator writes is refused.
TEST_CASE("every trace the simulator writes keeps the reader's rules") {
  FLASHLAB_TEST_RNG(rng, "traces the reader accepts");
  const std::vector<Trace> traces = test::traces_of_every_kind(rng);
  CHECK(traces.size() == 96);
  for (size_t k = 0; k < traces.size(); ++k) {
    CAPTURE(k);
    CAPTURE(traces[k].title);
    std::string message = "accepted";
    try {
      read_trace_json(to_json(traces[k]).dump());
    } catch (const Error& e) {
      message = e.what();
    }
    CHECK(message == "accepted");
  }
}

// A grader's --trace of a student's run that stopped early holds fewer events than blocks: read,
// as long as the grid stays within kTraceBlocksWithoutEvents; past it, one event per block.
TEST_CASE("a run that stopped early is read; a grid past the constant needs an event per block") {
  json doc = good_trace();
  doc["events"] = json::array({doc["events"][0]});  // stopped after its first event
  doc["softmax_rows"] = json::array();
  CHECK(read_trace_json(doc.dump()).events.size() == 1);
  // Tiles 4 x 6 over seq_k 13: 3 block columns. 21845 block rows: 65535 blocks, read.
  doc["shape"]["seq_q"] = 4 * 21845;
  CHECK(read_trace_json(doc.dump()).shape.seq_q == 4 * 21845);
  doc["shape"]["seq_q"] = 4 * 21846;  // 65538 blocks
  CHECK_THROWS_WITH_AS(read_trace_json(doc.dump()),
                       doctest::Contains("is 65538 blocks per head, but the trace holds only 1 "
                                         "events; a trace records at least one event per block "
                                         "(one that stopped early may hold fewer, up to 65536 "
                                         "blocks)"),
                       Error);
}

TEST_CASE("the trace bad-input table names every field of a real trace") {
  const json doc = good_trace();
  std::set<std::string> paths;
  collect_paths(doc, "", paths);
  std::set<std::string> covered;
  for (const Field& f : fields()) covered.insert(f.path);
  for (const std::string& p : paths) {
    INFO("add a row to fields() in tests/simulator/trace_bad_input_test.cpp for " << p);
    CHECK(covered.count(p) == 1);
  }
  CHECK(paths.size() >= 50);
}

TEST_CASE("every bad value of every trace field is refused naming the field") {
  const json good = good_trace();
  REQUIRE(error_of(good) == "accepted");
  int cases = 0;
  for (const Field& f : fields()) {
    for (const Bad& b : f.bad) {
      json doc = good;
      const auto [path, pointer] = locate(doc, f);
      if (b.value)
        doc[pointer] = *b.value;
      else
        doc[pointer.parent_pointer()].erase(pointer.back());
      const std::string message = error_of(doc);
      const bool top_level = std::string(f.path).find_first_of(".[") == std::string::npos;
      const std::string named = b.path ? locate(good, Field{b.path, f.event_kind, {}}).first
                                : !b.value && top_level ? "trace." + path
                                                        : path;
      const std::string expected = "trace JSON: " + named;
      INFO(f.path << ", " << b.kind << " (" << (b.value ? b.value->dump() : "removed")
                  << "): " << message);
      CHECK(message.rfind(expected, 0) == 0);
      CHECK(message.find(b.says) != std::string::npos);
      CHECK(message.find('\n') == std::string::npos);
      ++cases;
    }
  }
  MESSAGE(cases << " bad trace inputs refused");
}

}  // namespace flashlab::simulator
