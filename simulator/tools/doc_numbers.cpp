// The generated numbers of docs/simulator.md, docs/theory.md and docs/trace-format.md (see
// doc_numbers.hpp). Every count comes from a counting-only simulation or, for the hand checks,
// from the closed form, which must equal the simulation (else this throws).
#include "doc_numbers.hpp"

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <flashlab/core/error.hpp>
#include <flashlab/simulator/model/gpu_spec.hpp>
#include <flashlab/simulator/model/performance_model.hpp>
#include <flashlab/simulator/simulate.hpp>
#include <flashlab/simulator/trace/trace_json.hpp>

namespace flashlab::simulator::tools {
namespace {

// The worked example of docs/simulator.md: d = 64, M = 100 KiB of fp16, one head.
constexpr int64_t kHeadDim = 64;
constexpr int64_t kSramBytes = 100 * 1024;
constexpr int64_t kSizes[] = {1024, 2048, 4096};

std::string thousands(int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v), out;
  for (size_t k = 0; k < digits.size(); ++k) {
    if (k > 0 && (digits.size() - k) % 3 == 0) out += ',';
    out += digits[k];
  }
  return v < 0 ? "-" + out : out;
}

std::string fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string tiles_text(const TileSizes& t) {
  return std::to_string(t.block_rows) + " × " + std::to_string(t.block_cols);
}

SimConfig example(Algorithm a, int64_t N, bool backward) {
  SimConfig c;
  c.algorithm = a;
  c.shape = {1, 1, N, N, kHeadDim};
  c.sram_bytes = kSramBytes;
  c.counting_only = true;
  c.backward = backward;
  return c;
}

struct Run {
  IoStats stats;
  TileSizes tiles;
  WorkRecord work;
};

Run run(Algorithm a, int64_t N, bool backward) {
  const SimConfig c = example(a, N, backward);
  if (backward) {
    SimBackward b = simulate_backward(c, nullptr, nullptr, nullptr, nullptr);
    return {b.stats, b.tiles, std::move(b.work)};
  }
  SimForward f = simulate_forward(c, nullptr, nullptr, nullptr);
  return {f.stats, f.tiles, std::move(f.work)};
}

// Total bytes of each (algorithm, pass, N) of the worked example.
using Totals = std::map<std::tuple<Algorithm, bool, int64_t>, int64_t>;

std::string worked_example_table(Totals& totals) {
  const GpuSpec gpu = a100_40gb();
  std::string out =
      "| N | algorithm | pass | B_r × B_c | HBM bytes | of which S/P/dP/dS | predicted (A100) |\n"
      "|---|---|---|---|---|---|---|\n";
  for (int64_t N : kSizes) {
    for (bool backward : {false, true}) {
      for (Algorithm a : {Algorithm::Standard, Algorithm::Flash, Algorithm::Flash2}) {
        const Run r = run(a, N, backward);
        int64_t nn = 0;
        for (TensorId id : {TensorId::S, TensorId::P, TensorId::dP, TensorId::dS})
          nn += r.stats[id].bytes_read + r.stats[id].bytes_written;
        totals[{a, backward, N}] = r.stats.total_bytes();
        out += "| " + std::to_string(N) + " | " + to_string(a) + " | " +
               (backward ? "bwd" : "fwd") + " | " + tiles_text(r.tiles) + " | " +
               thousands(r.stats.total_bytes()) + " | " + thousands(nn) + " | " +
               fixed(predict_runtime(r.work, gpu).predicted_s * 1e6, 1) + " µs |\n";
      }
    }
  }
  out.pop_back();
  return out;
}

std::string ratio(int64_t num, int64_t den, const char* before, const char* after) {
  return before + fixed(double(num) / double(den), 1) + after;
}

// "flash, T_c = ⌈1024/200⌉ = 6: 2·1024·64 + ... = 1,402,880 elements = 2,805,760 bytes.", the
// closed form of docs/simulator.md evaluated by hand, checked against the simulation.
std::string hand_check_flash(const Run& r, int64_t N) {
  const int64_t d = kHeadDim, Bc = r.tiles.block_cols, Tc = (N + Bc - 1) / Bc;
  const int64_t elements = 2 * N * d + N * d + 2 * N + Tc * N * (3 * d + 4);
  require(elements * r.stats.element_bytes == r.stats.total_bytes(),
          "docs: the flash forward closed form disagrees with the simulation");
  const std::string n = std::to_string(N), ds = std::to_string(d);
  return "flash, T_c = ⌈" + n + "/" + std::to_string(Bc) + "⌉ = " + std::to_string(Tc) + ": 2·" +
         n + "·" + ds + " + " + n + "·" + ds + " + 2·" + n + " + " + std::to_string(Tc) + "·" + n +
         "·(3·" + ds + " + 4) = " + thousands(elements) +
         " elements = " + thousands(r.stats.total_bytes()) + " bytes.";
}

std::string hand_check_standard(const Run& r, int64_t N) {
  const int64_t d = kHeadDim, Br = r.tiles.block_rows, Tr = (N + Br - 1) / Br;
  const int64_t elements = 2 * N * d + 2 * Tr * N * d + 4 * N * N;
  require(elements * r.stats.element_bytes == r.stats.total_bytes(),
          "docs: the standard forward closed form disagrees with the simulation");
  const std::string n = std::to_string(N), ds = std::to_string(d);
  return "Standard, T_r = " + std::to_string(Tr) + ": 2·" + n + "·" + ds + " + 2·" +
         std::to_string(Tr) + "·" + n + "·" + ds + " + 4·" + n + "² = " + thousands(elements) +
         " elements = " + thousands(r.stats.total_bytes()) + " bytes.";
}

std::string per_tensor(Algorithm a, const char* name, int64_t N) {
  const Run r = run(a, N, false);
  const int64_t Tr = (N + r.tiles.block_rows - 1) / r.tiles.block_rows;
  const int64_t Tc = (N + r.tiles.block_cols - 1) / r.tiles.block_cols;
  return "```\n" + std::string(name) + ", N = " + std::to_string(N) + ", " +
         std::to_string(r.tiles.block_rows) + " x " + std::to_string(r.tiles.block_cols) +
         " tiles, T_r = " + std::to_string(Tr) + ", T_c = " + std::to_string(Tc) + "\n" +
         format_table(r.stats) + "```";
}

// Greedy word wrap at `width` columns.
std::string wrap(const std::string& text, size_t width) {
  std::istringstream words(text);
  std::string word, line, out;
  while (words >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  return out + line;
}

// The refusal of tiles that do not fit: N = 1024, d = 64, 64 KiB, 128 x 128 tiles.
std::string does_not_fit() {
  SimConfig c = example(Algorithm::Flash, 1024, false);
  c.sram_bytes = 64 * 1024;
  c.tiles = TileSizes{128, 128};
  try {
    resolve_tiles(c);
  } catch (const Error& e) {
    return "```\n" + wrap(e.what(), 96) + "\n```";
  }
  throw Error("docs: 128 x 128 tiles unexpectedly fit 64 KiB");
}

// A JSON value on one line with a space after ':' and ',' (the style of docs/trace-format.md).
std::string inline_json(const nlohmann::json& j) {
  if (j.is_object()) {
    std::string out = "{";
    for (auto it = j.begin(); it != j.end(); ++it)
      out += (it == j.begin() ? "\"" : ", \"") + it.key() + "\": " + inline_json(it.value());
    return out + "}";
  }
  if (j.is_array()) {
    std::string out = "[";
    for (size_t k = 0; k < j.size(); ++k) out += (k ? ", " : "") + inline_json(j[k]);
    return out + "]";
  }
  return j.dump();
}

// A formula longer than 60 characters cut after its first term (the first ", " outside
// parentheses): "m_i^(j) = max(m_i^(j-1), rowmax(S_i^(j))), ...".
std::string first_term(const std::string& op) {
  int depth = 0;
  for (size_t k = 0; op.size() > 60 && k + 1 < op.size(); ++k) {
    depth += op[k] == '(' ? 1 : op[k] == ')' ? -1 : 0;
    if (depth == 0 && op[k] == ',' && op[k + 1] == ' ') return op.substr(0, k + 2) + "...";
  }
  return op;
}

// One event with its fields in reading order.
std::string event_line(const nlohmann::json& e) {
  std::string out = "  {";
  bool first = true;
  for (const char* key :
       {"kind", "line", "batch", "head", "tensor", "rect", "op", "i", "j", "bytes", "flops", "exps",
        "softmax_first", "softmax_count", "sram_used_bytes"}) {
    if (!e.contains(key)) continue;
    const std::string value = std::string(key) == "op"
                                  ? nlohmann::json(first_term(e[key].get<std::string>())).dump()
                                  : inline_json(e[key]);
    out += (first ? "\"" : ", \"") + std::string(key) + "\": " + value;
    first = false;
  }
  return out + "}";
}

// The tiny FA2 forward of `flashlab-sim-report trace-example`, abridged: the first steps, the
// first block's arithmetic, the skipped block, the writes and the last step.
std::string trace_example(std::string& event_count) {
  const nlohmann::json j = to_json(trace_example_run());
  const nlohmann::json& events = j["events"];
  event_count = std::to_string(events.size());
  std::vector<bool> shown(events.size(), false);
  shown[0] = shown[1] = shown[events.size() - 1] = true;
  bool matmul = false, mask = false, softmax = false, pv = false, skip = false;
  for (size_t k = 0; k < events.size(); ++k) {
    const std::string kind = events[k]["kind"], op = events[k]["op"];
    auto first = [&](bool& seen, bool match) {
      if (match && !seen) seen = shown[k] = true;
    };
    first(matmul, kind == "compute" && op.find(" = tau ") != std::string::npos);
    first(mask, kind == "compute" && op.find("mask(") != std::string::npos);
    first(softmax, kind == "softmax");
    first(pv, kind == "compute" && op.find("O_i <- O_i + ") != std::string::npos);
    first(skip, kind == "skip");
    if (kind == "store") shown[k] = true;
  }
  const auto& code = j["pseudo_code"];
  std::string out =
      "```json\n{\n \"format\": " + j["format"].dump() + ", \"version\": " + j["version"].dump() +
      ",\n \"algorithm\": " + j["algorithm"].dump() + ", \"pass\": " + j["pass"].dump() +
      ",\n \"title\": " + j["title"].dump() + ",\n \"pseudo_code\": [" +
      nlohmann::json(code[0].get<std::string>().substr(0, 40) + " ...").dump() + ", \"...\", " +
      code[2].dump() + ", \"...\"],\n \"shape\": " + inline_json(j["shape"]) +
      ",\n \"tiles\": " + inline_json(j["tiles"]) +
      ",\n \"sram_capacity_bytes\": " + j["sram_capacity_bytes"].dump() +
      ", \"element_bytes\": " + j["element_bytes"].dump() +
      ",\n \"options\": " + inline_json(j["options"]) + ",\n \"events\": [\n";
  for (size_t k = 0; k < events.size(); ++k) {
    if (!shown[k]) {
      if (k == 0 || shown[k - 1]) out += "  ...\n";
      continue;
    }
    out += event_line(events[k]) + (k + 1 < events.size() ? ",\n" : "\n");
  }
  out += " ],\n \"softmax_rows\": [";
  const auto& rows = j["softmax_rows"];
  for (size_t k = 0; k < rows.size(); ++k)
    out += (k ? ",\n                  " : "") + inline_json(rows[k]);
  return out + "]\n}\n```";
}

}  // namespace

Trace trace_example_run() {
  SimConfig c;
  c.algorithm = Algorithm::Flash2;
  c.shape = {1, 1, 2, 4, 2};
  c.tiles = TileSizes{2, 2};
  c.options.causal = true;
  const Tensor<float> Q({1, 1, 2, 2}, 0.5f), K({1, 1, 4, 2}, 0.25f), V({1, 1, 4, 2}, 1.0f);
  return simulate_forward(c, &Q, &K, &V).trace;
}

std::vector<DocItem> doc_items() {
  std::vector<DocItem> items;
  const int64_t sram = SimConfig{}.sram_bytes;
  items.push_back({"default-sram", (sram % 1024 == 0 ? std::to_string(sram / 1024) + " KiB"
                                                     : fixed(double(sram) / 1024, 1) + " KiB") +
                                       " (" + thousands(sram) + " bytes)"});
  Totals totals;
  items.push_back({"worked-example-table", worked_example_table(totals)});
  const auto total = [&](Algorithm a, bool backward, int64_t N) {
    return totals.at({a, backward, N});
  };
  using A = Algorithm;
  const Run flash = run(A::Flash, 1024, false), standard = run(A::Standard, 1024, false);
  items.push_back({"worked-example-tiles", tiles_text(flash.tiles)});
  items.push_back({"worked-example-backward-tiles", tiles_text(run(A::Flash, 1024, true).tiles)});
  items.push_back({"worked-example-rule", "B_c = " + std::to_string(flash.tiles.block_cols) +
                                              ", B_r = " + std::to_string(flash.tiles.block_rows)});
  items.push_back({"ratio-forward-1024",
                   ratio(total(A::Standard, false, 1024), total(A::Flash, false, 1024), "", "×")});
  items.push_back({"ratio-forward-4096",
                   ratio(total(A::Standard, false, 4096), total(A::Flash, false, 4096), "", "×")});
  items.push_back({"ratio-backward-1024",
                   ratio(total(A::Standard, true, 1024), total(A::Flash, true, 1024), "", "×")});
  items.push_back({"ratio-backward-4096",
                   ratio(total(A::Standard, true, 4096), total(A::Flash, true, 4096), "", "×")});
  for (A a : {A::Standard, A::Flash})
    for (int64_t N : {2048, 4096})
      items.push_back({std::string("growth-") + to_string(a) + "-" + std::to_string(N),
                       ratio(total(a, false, N), total(a, false, N / 2), "×", "")});
  items.push_back({"per-tensor-flash-1024", per_tensor(A::Flash, "FlashAttention forward", 1024)});
  items.push_back(
      {"per-tensor-standard-1024", per_tensor(A::Standard, "Standard attention forward", 1024)});
  items.push_back({"hand-check-flash-1024", hand_check_flash(flash, 1024)});
  items.push_back({"hand-check-standard-1024", hand_check_standard(standard, 1024)});
  items.push_back({"does-not-fit", does_not_fit()});
  std::string event_count;
  items.push_back({"trace-example", trace_example(event_count)});
  items.push_back({"trace-example-events", event_count});
  return items;
}

}  // namespace flashlab::simulator::tools
