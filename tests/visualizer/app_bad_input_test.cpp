// flashlab-viz's bad-input table: every option given the wrong type, out of range, huge, negative
// or missing, and bad trace files (a directory, missing, each kind of bad field), refused before
// any window with exit 2 and one line that names the culprit. A check reads --help and fails for
// an option without rows: add them to kRows. Out-of-range --step and --row are clamped, and said.
#include <doctest/doctest.h>

#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <flashlab/simulator/trace/trace_json.hpp>
#include <flashlab/viz/session.hpp>
#include <nlohmann/json.hpp>

#include "app_run.hpp"

using namespace flashlab;
using namespace flashlab::viz;
using test::kViz;
using test::kVizTestDir;
using test::run;
using test::Run;

namespace {

struct Row {
  const char* option;  // the option the row covers
  const char* kind;    // "wrong type", "out of range", "huge", "negative", "missing", "other"
  const char* args;
  const char* says;  // must appear in the error line; "{trace}" in args and says is a good trace
};

const std::vector<Row> kRows = {
    {"--algorithm", "wrong type", "--algorithm 3", "--algorithm: unknown algorithm '3'"},
    {"--algorithm", "out of range", "--algorithm flash3",
     "--algorithm: unknown algorithm 'flash3'"},
    {"--algorithm", "missing", "--algorithm", "--algorithm: 1 required TEXT missing"},
    {"--seq", "wrong type", "--seq abc", "--seq = abc"},
    {"--seq", "out of range", "--seq 0", "N (--seq) must be between 1 and 65536, got 0"},
    {"--seq", "huge", "--seq 99999999", "N (--seq) must be between 1 and 65536, got 99999999"},
    {"--seq", "huge", "--seq 65536 --block-rows 16 --block-cols 16",
     "the visualizer replays at most"},
    {"--seq", "negative", "--seq -4", "N (--seq) must be between 1 and 65536, got -4"},
    {"--seq", "missing", "--seq", "--seq: 1 required INT missing"},
    {"--head-dim", "wrong type", "--head-dim x", "--head-dim = x"},
    {"--head-dim", "out of range", "--head-dim 0", "d (--head-dim) must be between 1 and 1024"},
    {"--head-dim", "huge", "--head-dim 100000",
     "d (--head-dim) must be between 1 and 1024, got 100000"},
    {"--head-dim", "negative", "--head-dim -1",
     "d (--head-dim) must be between 1 and 1024, got -1"},
    {"--head-dim", "missing", "--head-dim", "--head-dim: 1 required INT missing"},
    {"--sram", "wrong type", "--sram lots", "--sram: 'lots' is not a byte size; accepted:"},
    {"--sram", "out of range", "--sram 16B", "SRAM 16 B (--sram): tiles Br=1, Bc=1 do not fit"},
    {"--sram", "out of range", "--sram 48K", "--sram: '48K' is ambiguous"},
    {"--sram", "huge", "--sram 2PiB", "--sram: '2PiB' is not a byte size"},
    {"--sram", "negative", "--sram -1KiB", "--sram: '-1KiB' is not a byte size"},
    {"--sram", "missing", "--sram", "--sram: 1 required TEXT missing"},
    {"--block-rows", "wrong type", "--block-rows x", "--block-rows = x"},
    {"--block-rows", "other", "--block-rows 16", "--block-rows and --block-cols go together"},
    {"--block-rows", "huge", "--block-rows 1000 --block-cols 1000",
     "tiles 1000 x 1000 (--block-rows, --block-cols) with SRAM"},
    {"--block-rows", "negative", "--block-rows -4 --block-cols 4", "must be >= 1, got -4 and 4"},
    {"--block-rows", "missing", "--block-rows", "--block-rows: 1 required INT missing"},
    {"--block-cols", "wrong type", "--block-cols y --block-rows 4", "--block-cols = y"},
    {"--block-cols", "out of range", "--block-cols 0 --block-rows 4", "must be >= 1, got 4 and 0"},
    {"--block-cols", "huge", "--block-cols 99999999 --block-rows 4",
     "(--block-rows, --block-cols) with SRAM"},
    {"--block-cols", "negative", "--block-cols -4 --block-rows 4", "must be >= 1, got 4 and -4"},
    {"--block-cols", "missing", "--block-cols", "--block-cols: 1 required INT missing"},
    {"--causal", "wrong type", "--causal=maybe", "--causal = maybe"},
    {"--kept-max", "wrong type", "--kept-max=often", "--kept-max = often"},
    {"--kept-max", "other", "--kept-max --algorithm flash",
     "--kept-max is for flash2 (FA2's forward), not flash"},
    {"--dropout", "wrong type", "--dropout high", "--dropout = high"},
    {"--dropout", "out of range", "--dropout 1.5",
     "dropout (--dropout) must be in [0, 1), got 1.5"},
    {"--dropout", "huge", "--dropout 1e300", "dropout (--dropout) must be in [0, 1), got 1e+300"},
    {"--dropout", "negative", "--dropout -0.5", "dropout (--dropout) must be in [0, 1), got -0.5"},
    {"--dropout", "missing", "--dropout", "--dropout: 1 required FLOAT missing"},
    {"--sparse", "wrong type", "--sparse 7", "(--sparse): unknown block-sparse pattern '7'"},
    {"--sparse", "out of range", "--sparse random:2",
     "(--sparse): 'random:2': random:DENSITY takes a density in (0, 1]"},
    {"--sparse", "negative", "--sparse local:-1", "(--sparse): 'local:-1': local:W takes a window"},
    {"--sparse", "missing", "--sparse", "--sparse: 1 required TEXT missing"},
    {"--seed", "wrong type", "--seed x", "--seed: must be a whole number in [0, 2^64), got 'x'"},
    {"--seed", "huge", "--seed 18446744073709551616", "got '18446744073709551616'"},
    {"--seed", "negative", "--seed -1", "--seed: must be a whole number in [0, 2^64), got '-1'"},
    {"--seed", "missing", "--seed", "--seed: 1 required UINT missing"},
    {"--step", "wrong type", "--step x", "--step = x"},
    {"--step", "negative", "--step -5", "--step must be >= 0, got -5"},
    {"--step", "missing", "--step", "--step: 1 required INT missing"},
    {"--row", "wrong type", "--row 1.5", "--row = 1.5"},
    {"--row", "negative", "--row -2", "--row must be >= 0, got -2"},
    {"--row", "missing", "--row", "--row: 1 required INT missing"},
    {"--screenshot", "other", "--screenshot /nonexistent/dir/x.png",
     "--screenshot: cannot write '/nonexistent/dir/x.png'"},
    {"--screenshot", "missing", "--screenshot", "--screenshot: 1 required TEXT missing"},
    {"--size", "wrong type", "--size huge",
     "--size: expected WxH between 200x150 and 8192x8192, got 'huge'"},
    {"--size", "out of range", "--size 10x10", "got '10x10'"},
    {"--size", "huge", "--size 99999x99999", "got '99999x99999'"},
    {"--size", "negative", "--size -5x-5", "got '-5x-5'"},
    {"--size", "missing", "--size", "--size: 1 required TEXT missing"},
    {"--trace", "other", "--trace /nonexistent/trace.json",
     "--trace /nonexistent/trace.json: no such file"},
    {"--trace", "wrong type", "--trace /",
     "--trace /: is a directory; give a trace file written by `flashlab trace -o FILE.json`"},
    {"--trace", "other", "--trace /dev/null --seq 64",
     "--trace replays a saved trace: its problem comes from the file, leave out --seq"},
    {"--trace", "missing", "--trace", "--trace: 1 required TEXT missing"},
    {"--compare", "wrong type", "--trace {trace} --compare /",
     "--compare /: is a directory; give a trace file written by `flashlab trace -o FILE.json`"},
    {"--compare", "wrong type", "--trace {trace} --compare /dev/null",
     "--compare /dev/null: trace JSON:"},
    {"--compare", "other", "--trace {trace} --compare /nonexistent/solution.json",
     "--compare /nonexistent/solution.json: no such file"},
    {"--compare", "other", "--compare {trace}",
     "--compare shows a second trace beside --trace: give both"},
    {"--compare", "missing", "--compare", "--compare: 1 required TEXT missing"},
    {"--softmax-run", "wrong type", "--softmax-run {trace}",
     "--softmax-run {trace}: not a lab 1 softmax run"},
    {"--softmax-run", "wrong type", "--softmax-run /",
     "--softmax-run /: is a directory; give a lab 1 softmax run written by `flashlab-grade 1"},
    {"--softmax-run", "wrong type", "--softmax-run /dev/null", "--softmax-run /dev/null: not JSON"},
    {"--softmax-run", "other", "--softmax-run /nonexistent/run.json",
     "--softmax-run /nonexistent/run.json: no such file"},
    {"--softmax-run", "other", "--softmax-run x.json --trace {trace}",
     "--softmax-run is a view of its own: leave out --trace and --compare"},
    {"--softmax-run", "missing", "--softmax-run", "--softmax-run: 1 required TEXT missing"},
    {"--benchmark-frames", "wrong type", "--benchmark-frames x", "--benchmark-frames = x"},
    {"--benchmark-frames", "negative", "--benchmark-frames -1",
     "--benchmark-frames must be >= 0, got -1"},
    {"--benchmark-frames", "missing", "--benchmark-frames",
     "--benchmark-frames: 1 required INT missing"},
    {"--benchmark-load", "wrong type", "--benchmark-load x", "--benchmark-load = x"},
    {"--benchmark-load", "other", "--benchmark-load 3",
     "--benchmark-load times loading a trace: give the file with --trace"},
    {"--benchmark-load", "negative", "--benchmark-load -2 --trace /dev/null",
     "--benchmark-load must be >= 0, got -2"},
    {"--benchmark-load", "missing", "--benchmark-load", "--benchmark-load: 1 required INT missing"},
    {"--play", "wrong type", "--play=maybe", "--play = maybe"},
    {"--report-state", "wrong type", "--report-state=maybe", "--report-state = maybe"},
    {"", "other", "--no-such-option", "The following argument was not expected: --no-such-option"},
};

void check_refused(const std::string& args, const std::string& says) {
  // No display: every refusal comes before the window.
  const Run r = run("env -u DISPLAY " + kViz + " " + args);
  INFO("flashlab-viz " << args << "\n" << r.output);
  CHECK(r.code == 2);
  CHECK(r.output.rfind("flashlab-viz: error: ", 0) == 0);
  CHECK(r.output.find('\n') == r.output.size() - 1);  // exactly one line
  CHECK(r.output.find(says) != std::string::npos);
}

// A small real trace, as a document to break.
nlohmann::json good_trace() {
  VizConfig c;
  c.seq = 24;
  c.head_dim = 4;
  c.tiles = TileSizes{8, 8};
  c.causal = true;
  return simulator::to_json(build_session(c).trace);
}

}  // namespace

TEST_SUITE("app-cli") {
  TEST_CASE("every row of flashlab-viz's bad-input table exits 2 with one line naming it") {
    const std::string trace = kVizTestDir + "/bad_input_good_trace.json";
    {
      std::ofstream out(trace);
      out << good_trace().dump();
    }
    auto fill = [&](std::string text) {
      for (size_t at; (at = text.find("{trace}")) != std::string::npos;) text.replace(at, 7, trace);
      return text;
    };
    for (const Row& row : kRows) check_refused(fill(row.args), fill(row.says));
  }

  TEST_CASE("flashlab-viz's bad-input table covers every option --help lists") {
    const Run help = run(kViz + " --help");
    REQUIRE(help.code == 0);
    std::map<std::string, std::set<std::string>> kinds;
    for (const Row& row : kRows) kinds[row.option].insert(row.kind);
    std::istringstream lines(help.output);
    std::string line;
    int options = 0;
    while (std::getline(lines, line)) {
      std::istringstream words(line);
      std::string names, type;
      if (!(words >> names) || names.rfind("--", 0) != 0) continue;
      words >> type;
      const std::string type_name = type.substr(0, type.find('='));
      const bool takes_value =
          type_name == "INT" || type_name == "UINT" || type_name == "FLOAT" || type_name == "TEXT";
      INFO("add rows for flashlab-viz " << names << " to tests/visualizer/app_bad_input_test.cpp");
      REQUIRE(kinds.count(names) == 1);
      CHECK((kinds[names].count("wrong type") + kinds[names].count("other")) >= 1);
      if (takes_value) CHECK(kinds[names].count("missing") == 1);
      ++options;
    }
    CHECK(options >= 18);
  }

  // The trace reader's table (tests/simulator/trace_bad_input_test.cpp) covers every field; here
  // one field of each kind of problem, through the program, exits 2 naming the file and field.
  TEST_CASE("a bad trace file exits 2 naming the file and the field") {
    const nlohmann::json good = good_trace();
    struct Case {
      const char* name;
      std::function<void(nlohmann::json&)> edit;
      const char* says;
    };
    const std::vector<Case> cases = {
        {"huge shape", [](auto& d) { d["shape"]["seq_q"] = 100000000; },
         "trace JSON: shape: seq_q 100000000"},
        {"wrong type", [](auto& d) { d["events"][3]["rect"] = "0,1"; },
         "trace JSON: events[3].rect: expected"},
        {"out of range", [](auto& d) { d["events"][3]["head"] = 1; },
         "trace JSON: events[3].head: 1 is outside"},
        {"negative", [](auto& d) { d["softmax_rows"][0][0] = -1; },
         "trace JSON: softmax_rows[0][0]: -1 is outside"},
        {"missing", [](auto& d) { d.erase("tiles"); }, "trace JSON: trace.tiles: missing"},
        {"not JSON", [](auto& d) { d = "{"; }, "trace JSON:"},
    };
    for (const Case& c : cases) {
      nlohmann::json doc = good;
      c.edit(doc);
      const std::string path = kVizTestDir + "/bad_trace.json";
      {
        std::ofstream out(path);
        out << (doc.is_string() ? doc.get<std::string>() : doc.dump());
      }
      CAPTURE(c.name);
      check_refused("--trace " + path, "--trace " + path + ": " + c.says);
    }
  }

  TEST_CASE("--step and --row past the end are clamped, and said so") {
    // No display: the notes come first, then the display error (exit 1).
    const Run r = run("env -u DISPLAY " + kViz + " --seq 32 --head-dim 8 --step 99999 --row 500");
    CHECK(r.output.find("flashlab-viz: warning: --step 99999 is past the last step; showing the "
                        "last, ") != std::string::npos);
    CHECK(r.output.find("flashlab-viz: warning: --row 500 is past the last query row; showing the "
                        "last, 31") != std::string::npos);
    const Run fine = run("env -u DISPLAY " + kViz + " --seq 32 --head-dim 8 --step 3 --row 31");
    CHECK(fine.output.find("warning") == std::string::npos);
  }

  TEST_CASE("--step and --row past the end of --compare and --softmax-run: clamped, and said so") {
    const std::string trace = kVizTestDir + "/clamp_trace.json";
    {
      std::ofstream out(trace);
      out << good_trace().dump();
    }
    const Run cmp = run("env -u DISPLAY " + kViz + " --trace " + trace + " --compare " + trace +
                        " --step 99999");
    CHECK(cmp.output.find("flashlab-viz: warning: --step 99999 is past the last aligned step; "
                          "showing the last, ") != std::string::npos);
    // One row of two scores in one block: one merge.
    const nlohmann::json doc = {{"format", "flashlab-softmax-run"},
                                {"version", 1},
                                {"title", "clamped"},
                                {"block_size", 4},
                                {"rows",
                                 {{{"label", "row 0"},
                                   {"scores", {1.0, 2.0}},
                                   {"steps",
                                    {{{"block", 0},
                                      {"col0", 0},
                                      {"cols", 2},
                                      {"block_m", 2.0},
                                      {"block_l", 1.3678794},
                                      {"m_old", "-inf"},
                                      {"l_old", 0.0},
                                      {"m_new", 2.0},
                                      {"l_new", 1.3678794}}}},
                                   {"softmax", {0.26894142, 0.73105858}}}}}};
    const std::string softmax_run = kVizTestDir + "/clamp_softmax_run.json";
    {
      std::ofstream out(softmax_run);
      out << doc.dump();
    }
    const Run sm =
        run("env -u DISPLAY " + kViz + " --softmax-run " + softmax_run + " --row 7 --step 5");
    INFO(sm.output);
    CHECK(sm.output.find("flashlab-viz: warning: --row 7 is past the last row of the run; showing "
                         "the last, 0") != std::string::npos);
    CHECK(sm.output.find("flashlab-viz: warning: --step 5 is past the last merge of the row; "
                         "showing the last, 1") != std::string::npos);
    const Run fine =
        run("env -u DISPLAY " + kViz + " --softmax-run " + softmax_run + " --row 0 --step 1");
    CHECK(fine.output.find("warning") == std::string::npos);
  }
}
