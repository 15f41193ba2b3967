// The line tags of the trace against the pseudo-code the trace carries (what the visualizer's
// pseudo-code panel shows): every simulated algorithm names its paper and algorithm, has the
// paper's number of lines with the paper's lines where the paper prints them, and tags every
// step with a line that exists and says what the step does (no dangling or shifted numbers).
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/core/error.hpp>
#include <flashlab/simulator/simulate.hpp>
#include <flashlab/test/random.hpp>

namespace flashlab::simulator {
namespace {

// What the papers print, written down from FA1 arXiv v2 (2205.14135v2: FA1 Alg. 0 in §2.2,
// FA1 Alg. 2 to 5 in App. B) and FA2 (2307.08691, §3), independently of the simulator's tables: the
// number of lines, and a few lines whose text pins the numbering (the S product, the loops, the
// return).
struct PaperAlgorithm {
  int lines;
  std::map<int, std::string> anchors;  // line -> a piece of its text (ASCII, as the simulator)
};

const std::map<std::string, PaperAlgorithm>& paper() {
  static const std::map<std::string, PaperAlgorithm> algorithms{
      {"FA1 Alg. 0", {4, {{1, "compute S"}, {2, "softmax(S)"}, {3, "O = PV"}, {4, "Return O"}}}},
      {"FA1 Alg. 2",
       {19,
        {{1, "random number generator"},
         {6, "for 1 <= j <= T_c"},
         {8, "for 1 <= i <= T_r"},
         {10, "S_ij = tau Q_i K_j^T"},
         {14, "dropout"},
         {19, "Return O, l, m, R"}}}},
      {"FA1 Alg. 3", {6, {{1, "dV = P^T dO"}, {3, "dS"}, {5, "dK"}, {6, "Return dQ, dK, dV"}}}},
      {"FA1 Alg. 4",
       {26,
        {{5, "dK = (0)"},
         {9, "for 1 <= i <= T_r"},
         {11, "S_ij = tau Q_i K_j^T"},
         {19, "D_i = rowsum"},
         {22, "dK~_j <- dK~_j"},
         {26, "Return dQ, dK, dV"}}}},
      {"FA1 Alg. 5",
       {20,
        {{5, "for 1 <= j <= T_c"},
         {8, "if M_ij != 0"},
         {10, "S_ij = tau Q_i K_j^T"},
         {17, "end if"},
         {20, "Return O, l, m, R"}}}},
      {"FA2 Alg. 1",
       {17,
        {{3, "for 1 <= i <= T_r"},
         {6, "for 1 <= j <= T_c"},
         {8, "S_i^(j) = "},
         {12, "O_i = diag(l_i^(T_c))^-1"},
         {17, "Return"}}}},
      {"FA2 Alg. 2",
       {20,
        {{4, "D = rowsum(dO o O)"},
         {5, "for 1 <= j <= T_c"},
         {8, "for 1 <= i <= T_r"},
         {10, "S_i^(j) = "},
         {20, "Return dQ, dK, dV"}}}},
  };
  return algorithms;
}

// "FlashAttention forward (FA1 Alg. 2)" -> "FA1 Alg. 2"; "" when the title does not end in one
// of the papers' algorithms.
std::string cited_algorithm(const std::string& title) {
  const size_t open = title.rfind('(');
  if (open == std::string::npos || title.back() != ')') return "";
  const std::string inside = title.substr(open + 1, title.size() - open - 2);
  return paper().count(inside) == 1 ? inside : "";
}

// Whether `text` mentions `symbol` as a symbol of its own: "Q" in "Load Q_i," but not in "dQ_i".
bool mentions(const std::string& text, const std::string& symbol) {
  for (size_t at = text.find(symbol); at != std::string::npos; at = text.find(symbol, at + 1)) {
    const size_t end = at + symbol.size();
    const bool starts = at == 0 || !std::isalnum(static_cast<unsigned char>(text[at - 1]));
    const bool ends = end == text.size() || !std::isalnum(static_cast<unsigned char>(text[end]));
    if (starts && ends) return true;
  }
  return false;
}

// The symbol the pseudo-code uses for a tensor moved to or from HBM (P_dropped is "P^dropped").
std::string symbol(TensorId t) {
  return t == TensorId::P_dropped ? "P" : tensor_name(t);
}

bool control_line(const std::string& text) {
  const std::string s = text.substr(text.find_first_not_of(' '));
  return s.rfind("for ", 0) == 0 || s.rfind("if ", 0) == 0 || s.rfind("end ", 0) == 0 ||
         s.rfind("Return", 0) == 0;
}

struct Case {
  std::string name;
  SimConfig config;
};

// Small problems with ragged blocks (seq_q != seq_k, neither a multiple of the tiles), under
// every option that changes which lines run.
std::vector<Case> cases(std::mt19937_64& rng) {
  SimConfig base;
  base.shape = {1, 2, 45, 38, 8};
  base.tiles = TileSizes{8, 12};
  BlockMask sparse;  // rectangular mask blocks that straddle the tiles, random layout
  sparse.block_rows = 10;
  sparse.block_cols = 7;
  sparse.row_blocks = ceil_div(base.shape.seq_q, sparse.block_rows);
  sparse.col_blocks = ceil_div(base.shape.seq_k, sparse.block_cols);
  for (int64_t k = 0; k < sparse.row_blocks * sparse.col_blocks; ++k)
    sparse.layout.push_back(uint8_t(test::random_int(rng, 0, 2) != 0));
  sparse.layout[0] = 0;  // at least one block off

  std::vector<Case> out{{"dense", base}};
  out.push_back({"causal", base});
  out.back().config.options.causal = true;
  out.push_back({"block-sparse", base});
  out.back().config.options.block_mask = sparse;
  out.push_back({"dropout", base});
  out.back().config.options.dropout_p = 0.25;
  out.push_back({"causal, block-sparse and dropout", base});
  out.back().config.options.causal = true;
  out.back().config.options.block_mask = sparse;
  out.back().config.options.dropout_p = 0.25;
  out.push_back({"tiny SRAM (rows longer than the SRAM, default tiles)", base});
  out.back().config.tiles.reset();
  out.back().config.sram_bytes = 3000;
  out.back().config.options.causal = true;
  return out;
}

// Runs one algorithm and pass; false when the simulator offers no such pass (it says so).
bool run(const SimConfig& c, bool backward, std::mt19937_64& rng, Trace& trace) {
  const auto Q = test::random_tensor<float>(rng, q_dims(c.shape));
  const auto K = test::random_tensor<float>(rng, kv_dims(c.shape));
  const auto V = test::random_tensor<float>(rng, kv_dims(c.shape));
  const auto dO = test::random_tensor<float>(rng, q_dims(c.shape));
  if (!backward) {
    trace = simulate_forward(c, &Q, &K, &V).trace;
    return true;
  }
  try {
    trace = simulate_backward(c, &Q, &K, &V, &dO).trace;
  } catch (const Error& e) {
    // Only the refusal of a pass the simulator does not have (FA2's backward until it exists);
    // any other error fails the test.
    if (std::string(e.what()).find("no simulated backward") == std::string::npos) throw;
    return false;
  }
  return true;
}

// What is wrong with one trace's tags against the pseudo-code it carries (empty when nothing).
std::vector<std::string> tag_problems(const Trace& t) {
  std::vector<std::string> out;
  const std::string alg = cited_algorithm(t.title);
  if (alg.empty())
    return {"title '" + t.title + "' does not end in a paper's algorithm, e.g. '(FA1 Alg. 2)'"};
  const PaperAlgorithm& want = paper().at(alg);
  if (int(t.pseudo_code.size()) != want.lines)
    return {alg + " has " + std::to_string(want.lines) + " lines, the pseudo-code " +
            std::to_string(t.pseudo_code.size())};
  for (const auto& [line, text] : want.anchors)
    if (t.pseudo_code[size_t(line - 1)].find(text) == std::string::npos)
      out.push_back(alg + " l. " + std::to_string(line) + " should read '" + text +
                    "', the pseudo-code has '" + t.pseudo_code[size_t(line - 1)] + "'");
  if (t.events.empty()) out.push_back("no events");
  for (const Event& e : t.events) {
    const std::string step = std::string(to_string(e.kind)) + " '" + e.op + "' of " +
                             tensor_name(e.tensor) + " tagged " + alg + " l. " +
                             std::to_string(e.line);
    if (e.line < 1 || e.line > want.lines) {
      out.push_back(step + ": dangling, " + alg + " has " + std::to_string(want.lines) + " lines");
      continue;
    }
    const std::string& text = t.pseudo_code[size_t(e.line - 1)];
    const bool transfer = e.kind == EventKind::Load || e.kind == EventKind::Store;
    if (transfer && !mentions(text, symbol(e.tensor)))
      out.push_back(step + ": the line does not mention the tensor: '" + text + "'");
    if (e.kind == EventKind::Skip && !control_line(text))
      out.push_back(step + ": a skip belongs to its loop or 'if' line, not '" + text + "'");
    if (e.kind == EventKind::Compute && control_line(text))
      out.push_back(step + ": arithmetic on a loop, 'end' or return line: '" + text + "'");
    if (e.kind == EventKind::SoftmaxUpdate && text.find("max(") == std::string::npos)
      out.push_back(step + ": an online-softmax update belongs to the line taking the max, not '" +
                    text + "'");
  }
  return out;
}

// Every problem of a trace as one failure each (the first few: one wrong table repeats).
void check_tags(const Trace& t) {
  const std::vector<std::string> problems = tag_problems(t);
  for (size_t k = 0; k < problems.size() && k < 5; ++k) FAIL_CHECK(problems[k]);
  CHECK(problems.empty());
}

TEST_CASE("every line tag a simulated algorithm emits exists in its pseudo-code and fits it") {
  FLASHLAB_TEST_RNG(rng, "line tags");
  std::map<std::string, int> traces_per_algorithm;
  std::set<std::string> not_simulated;
  for (const Case& c : cases(rng)) {
    for (Algorithm a : {Algorithm::Standard, Algorithm::Flash, Algorithm::Flash2}) {
      for (bool backward : {false, true}) {
        const std::string pass = std::string(to_string(a)) + (backward ? " backward" : " forward");
        CAPTURE(c.name);
        CAPTURE(pass);
        SimConfig config = c.config;
        config.algorithm = a;
        Trace t;
        if (!run(config, backward, rng, t)) {
          not_simulated.insert(pass);
          continue;
        }
        check_tags(t);
        ++traces_per_algorithm[cited_algorithm(t.title)];
      }
    }
  }
  for (const std::string& pass : not_simulated) MESSAGE("not simulated, so not checked: " << pass);
  // Every algorithm the simulator runs was seen (FA1 Alg. 5 only with a mask).
  for (const char* alg :
       {"FA1 Alg. 0", "FA1 Alg. 2", "FA1 Alg. 3", "FA1 Alg. 4", "FA1 Alg. 5", "FA2 Alg. 1"})
    CHECK_MESSAGE(traces_per_algorithm[alg] > 0, alg << " was never run");
}

TEST_CASE("the tag checks catch a shifted numbering, a dangling tag and an unnamed algorithm") {
  FLASHLAB_TEST_RNG(rng, "line tags, planted errors");
  for (Algorithm a : {Algorithm::Standard, Algorithm::Flash, Algorithm::Flash2}) {
    const std::string name = to_string(a);
    CAPTURE(name);
    SimConfig c = cases(rng)[1].config;  // causal: loops, skips, loads, stores and updates
    c.algorithm = a;
    Trace t;
    REQUIRE(run(c, false, rng, t));
    REQUIRE(tag_problems(t).empty());

    Trace shifted = t;  // the off-by-one of two numberings mixed up
    for (Event& e : shifted.events) e.line = std::max(1, e.line - 1);
    CHECK(!tag_problems(shifted).empty());
    for (Event& e : shifted.events) e.line = e.line + 2;
    CHECK(!tag_problems(shifted).empty());

    Trace dangling = t;
    dangling.events.back().line = int(t.pseudo_code.size()) + 1;
    CHECK(!tag_problems(dangling).empty());

    Trace unnamed = t;  // a title that does not say which paper's numbering it follows
    unnamed.title = "FlashAttention forward";
    CHECK(!tag_problems(unnamed).empty());

    Trace renumbered = t;  // a line dropped from the pseudo-code shifts the paper's numbering
    renumbered.pseudo_code.erase(renumbered.pseudo_code.begin());
    CHECK(!tag_problems(renumbered).empty());
  }
}

}  // namespace
}  // namespace flashlab::simulator
