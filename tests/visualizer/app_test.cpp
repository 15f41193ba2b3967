// flashlab-viz as a program: --benchmark-load, --help, and its headless frames under xvfb-run (PNG
// of the requested size, not blank, and the tiles lit at two steps differ). Its bad options and
// trace files: app_bad_input_test.cpp.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <flashlab/simulator/trace/trace_json.hpp>
#include <flashlab/viz/palette.hpp>
#include <flashlab/viz/session.hpp>

#include "app_run.hpp"
#include "png_util.hpp"

using namespace flashlab;
using namespace flashlab::viz;
using test::bbox;
using test::distinct_colors;
using test::Image;
using test::kViz;
using test::kVizTestDir;
using test::load_png;
using test::run;
using test::Run;

namespace {

// The first step whose current event loads `tensor` in K/V block j (or any j when j < 0).
int64_t load_step(const Session& s, TensorId tensor, int64_t j) {
  for (size_t k = 0; k < s.trace.events.size(); ++k) {
    const simulator::Event& e = s.trace.events[k];
    if (e.kind == simulator::EventKind::Load && e.tensor == tensor && (j < 0 || e.j == j))
      return int64_t(k) + 1;
  }
  FAIL("no load of " << simulator::tensor_name(tensor));
  return 0;
}

}  // namespace

TEST_SUITE("app-cli") {
  TEST_CASE("--benchmark-load times loading a trace without opening a window") {
    VizConfig c;
    c.seq = 64;
    c.head_dim = 16;
    const Session s = build_session(c);
    const std::string trace = kVizTestDir + "/viz_benchmark_load.json";
    {
      std::ofstream out(trace);
      simulator::write_trace_json(s.trace, out);
    }
    const Run r = run("env -u DISPLAY " + kViz + " --trace " + trace + " --benchmark-load 2");
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(r.output.find(std::to_string(s.event_count()) + " events") != std::string::npos);
    CHECK(r.output.find("2 loads") != std::string::npos);
    CHECK(r.output.find("total, before the window opens:") != std::string::npos);
  }

  TEST_CASE("--help prints the options and the keys, exit code 0") {
    const Run r = run(kViz + " --help");
    CHECK(r.code == 0);
    CHECK(r.output.find("--screenshot") != std::string::npos);
    CHECK(r.output.find("space play/pause") != std::string::npos);
  }
}

TEST_SUITE("app-screenshot") {
  TEST_CASE("headless frames: requested size, not blank, highlighted tiles differ between steps") {
    test::skip_unless_on_path("xvfb-run", "xvfb");
    VizConfig c;
    c.algorithm = VizAlgorithm::Flash;
    c.seq = 256;
    c.head_dim = 64;
    c.tiles = TileSizes{32, 32};
    c.sram_bytes = 48 * 1024;
    const Session s = build_session(c);
    // Two loads of different tiles: Q_0 (first inner step) and K_3 (fourth outer step).
    const int64_t a = load_step(s, TensorId::Q, -1), b = load_step(s, TensorId::K, 3);
    const std::string common = "xvfb-run -a -s '-screen 0 1280x1024x24' " + kViz +
                               " --algorithm flash --seq 256 --head-dim 64 --sram 48KiB "
                               "--block-rows 32 --block-cols 32 --size 900x620 --screenshot ";
    const std::string pa = kVizTestDir + "/viz_step_a.png", pb = kVizTestDir + "/viz_step_b.png";
    std::remove(pa.c_str());
    std::remove(pb.c_str());
    const Run ra = run(common + pa + " --step " + std::to_string(a));
    INFO(ra.output);
    REQUIRE(ra.code == 0);
    const Run rb = run(common + pb + " --step " + std::to_string(b));
    INFO(rb.output);
    REQUIRE(rb.code == 0);

    const Image ia = load_png(pa), ib = load_png(pb);
    CHECK(ia.width == 900);
    CHECK(ia.height == 620);
    CHECK(ib.width == 900);
    CHECK(ib.height == 620);
    // A rendered UI has text, anti-aliasing and the heat map: hundreds of colours; a blank or
    // single-colour frame has a handful.
    CHECK(distinct_colors(ia) > 200);
    CHECK(distinct_colors(ib) > 200);
    // The current event's tile is filled with exactly the read colour, in different places.
    const auto box_a = bbox(ia, palette::kRead), box_b = bbox(ib, palette::kRead);
    CHECK(box_a[0] >= 0);
    CHECK(box_b[0] >= 0);
    CHECK(box_a != box_b);
    CHECK(ia.rgb != ib.rgb);

    // A saved trace renders too (--trace).
    const std::string trace = kVizTestDir + "/viz_trace.json", pc = kVizTestDir + "/viz_trace.png";
    {
      std::ofstream out(trace);
      simulator::write_trace_json(s.trace, out);
    }
    const Run rc = run("xvfb-run -a -s '-screen 0 1280x1024x24' " + kViz + " --trace " + trace +
                       " --size 640x400 --screenshot " + pc);
    INFO(rc.output);
    REQUIRE(rc.code == 0);
    const Image ic = load_png(pc);
    CHECK(ic.width == 640);
    CHECK(distinct_colors(ic) > 100);
  }
}
