// flashlab-viz's views of a student's run as a program: their option errors, and headless frames
// of the side-by-side comparison (--trace A --compare B) and of lab 1's softmax run
// (--softmax-run), where the colour that marks a difference appears exactly when the runs
// differ. The inputs are made here: a simulator trace and a copy with one planted difference, a
// softmax run with and without a wrong merge.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include <flashlab/simulator/simulate.hpp>
#include <flashlab/simulator/trace/trace_json.hpp>
#include <flashlab/viz/palette.hpp>

#include "app_run.hpp"
#include "png_util.hpp"

using namespace flashlab;
using namespace flashlab::viz;
using simulator::Event;
using simulator::EventKind;
using simulator::TensorId;
using test::kViz;
using test::kVizTestDir;
using test::run;
using test::Run;

namespace {

const std::string kXvfb = "xvfb-run -a -s '-screen 0 1280x1024x24' ";

// FA1 Alg. 2 on 96 x 96, d = 16, 32 x 16 tiles; with `reload`, K_0 is loaded again in block (1, 0).
std::string write_trace(const std::string& name, bool reload) {
  simulator::SimConfig c;
  c.shape = {1, 1, 96, 96, 16};
  c.tiles = TileSizes{32, 16};
  c.counting_only = true;
  c.record_trace = true;
  simulator::Trace t = simulator::simulate_forward(c, nullptr, nullptr, nullptr).trace;
  if (reload) {
    Event k0;
    size_t at = 0;
    for (size_t k = 0; k < t.events.size(); ++k) {
      const Event& e = t.events[k];
      if (e.kind == EventKind::Load && e.tensor == TensorId::K && k0.bytes == 0) k0 = e;
      if (e.kind == EventKind::Load && e.tensor == TensorId::Q && e.i == 1 && e.j == 0) at = k + 1;
    }
    REQUIRE(at > 0);
    k0.i = 1;
    t.events.insert(t.events.begin() + int64_t(at), k0);
  }
  const std::string path = kVizTestDir + "/" + name;
  std::ofstream out(path);
  simulator::write_trace_json(t, out);
  return path;
}

// Lab 1's run of one row, 8 scores in blocks of 4; `plant`: merge forgets the factor e^(m-m_new).
std::string write_softmax_run(const std::string& name, bool plant) {
  const std::vector<float> x = {0.5f, -1.2f, 1.0f, 0.3f, 2.1f, 1.7f, -0.4f, 2.5f};
  nlohmann::json steps = nlohmann::json::array(), p = nlohmann::json::array();
  float m = -INFINITY, l = 0;
  for (size_t a = 0; a < x.size(); a += 4) {
    float bm = -INFINITY, bl = 0;
    for (size_t k = a; k < a + 4; ++k) bm = std::max(bm, x[k]);
    for (size_t k = a; k < a + 4; ++k) bl += std::exp(x[k] - bm);
    const float nm = std::max(m, bm);
    const float nl =
        plant ? l + bl : (std::isinf(m) ? 0.0f : std::exp(m - nm) * l) + std::exp(bm - nm) * bl;
    steps.push_back({{"block", a / 4},
                     {"col0", a},
                     {"cols", 4},
                     {"block_m", bm},
                     {"block_l", bl},
                     {"m_old", std::isinf(m) ? nlohmann::json("-inf") : nlohmann::json(m)},
                     {"l_old", l},
                     {"m_new", nm},
                     {"l_new", nl}});
    m = nm, l = nl;
  }
  for (float v : x) p.push_back(std::exp(v - m) / l);
  const nlohmann::json doc = {
      {"format", "flashlab-softmax-run"},
      {"version", 1},
      {"title", "test"},
      {"block_size", 4},
      {"rows", {{{"label", "one row"}, {"scores", x}, {"steps", steps}, {"softmax", p}}}}};
  const std::string path = kVizTestDir + "/" + name;
  std::ofstream(path) << doc.dump();
  return path;
}

test::Image screenshot(const std::string& args, const std::string& png) {
  std::remove(png.c_str());
  const Run r = run(kXvfb + kViz + " " + args + " --size 1200x800 --screenshot " + png);
  INFO(r.output);
  REQUIRE(r.code == 0);
  return test::load_png(png);
}

}  // namespace

TEST_SUITE("app-cli") {
  TEST_CASE("the views of a student's run refuse bad options with one line and exit code 2") {
    const std::string trace = write_trace("viz_cli_trace.json", false);
    const std::string bad[] = {"--compare " + trace,
                               "--trace " + trace + " --compare /nonexistent/solution.json",
                               "--softmax-run /nonexistent/run.json",
                               "--softmax-run " + trace,  // a trace is not a softmax run
                               "--softmax-run x.json --trace " + trace,
                               "--trace " + trace + " --compare " + trace + " --benchmark-load 2"};
    for (const std::string& args : bad) {
      CAPTURE(args);
      const Run r = run("env -u DISPLAY " + kViz + " " + args);
      CHECK(r.code == 2);
      CHECK(r.output.rfind("flashlab-viz: error: ", 0) == 0);
      CHECK(r.output.find('\n') == r.output.size() - 1);
    }
  }
}

TEST_SUITE("app-screenshot") {
  TEST_CASE("side by side: the difference colour marks the step where the runs differ, only then") {
    test::skip_unless_on_path("xvfb-run", "xvfb");
    const std::string same = write_trace("viz_cmp_same.json", false);
    const std::string other = write_trace("viz_cmp_reload.json", true);
    const test::Image differ =
        screenshot("--trace " + other + " --compare " + same, kVizTestDir + "/viz_cmp_differ.png");
    const test::Image match =
        screenshot("--trace " + same + " --compare " + same, kVizTestDir + "/viz_cmp_match.png");
    for (const test::Image* im : {&differ, &match}) {
      CHECK(im->width == 1200);
      CHECK(im->height == 800);
      CHECK(test::distinct_colors(*im) > 200);
      CHECK(test::count_color(*im, palette::kSame) > 1000);  // the strip of aligned steps
    }
    // The one differing step is a red cell of the strip, in the bottom panel.
    const auto box = test::bbox(differ, palette::kDiverge);
    REQUIRE(box[0] >= 0);
    CHECK(box[3] > 800 * 3 / 4);
    CHECK(test::count_color(match, palette::kDiverge) == 0);
    // Opened at the difference, your pane shows the extra load: the read colour is lit.
    CHECK(test::count_color(differ, palette::kRead) > 0);
  }

  TEST_CASE("lab 1's softmax run: a wrong merge is marked, a right run is not") {
    test::skip_unless_on_path("xvfb-run", "xvfb");
    const test::Image wrong = screenshot(
        "--softmax-run " + write_softmax_run("viz_sm_wrong.json", true), kVizTestDir + "/sm_w.png");
    const test::Image right =
        screenshot("--softmax-run " + write_softmax_run("viz_sm_right.json", false),
                   kVizTestDir + "/sm_r.png");
    CHECK(test::distinct_colors(wrong) > 100);
    CHECK(test::distinct_colors(right) > 100);
    // The wrong probabilities are bars of exactly the difference colour.
    CHECK(test::count_color(wrong, palette::kDiverge) > 500);
    CHECK(test::count_color(right, palette::kDiverge) == 0);
    CHECK(test::count_color(right, palette::kAccent) > 500);
  }
}
