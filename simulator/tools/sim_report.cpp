// flashlab-sim-report: prints the numbers quoted in the docs. Run from a Release build:
//   build/<dir>/simulator/flashlab-sim-report                 the docs' numbers, then timings
//   build/<dir>/simulator/flashlab-sim-report docs            the docs' numbers only, in the form
//                                                              scripts/check_generated_docs.py
//                                                              reads
//   build/<dir>/simulator/flashlab-sim-report trace-example   a tiny trace as JSON
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include <flashlab/core/error.hpp>
#include <flashlab/simulator/model/performance_model.hpp>
#include <flashlab/simulator/simulate.hpp>
#include <flashlab/simulator/trace/trace_json.hpp>

#include "doc_numbers.hpp"

using namespace flashlab;
using namespace flashlab::simulator;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// "@@ name" then the item's text, for every item (the machine-readable form).
void print_doc_items(bool for_people) {
  for (const tools::DocItem& item : tools::doc_items())
    std::printf(for_people ? "\n%s:\n%s\n" : "@@ %s\n%s\n", item.name.c_str(), item.text.c_str());
}

// The target of issue #13: counting-only simulation of N = 65536, d = 128 in under 1 s; the
// performance model's prediction (which replays the tiles through the L2) timed apart.
void counting_speed() {
  std::printf(
      "\nCounting-only speed, N = 65536, d = 128, default SRAM (%lld bytes), 1 head; then the "
      "H200 prediction:\n",
      static_cast<long long>(SimConfig{}.sram_bytes));
  for (Algorithm a : {Algorithm::Flash, Algorithm::Flash2, Algorithm::Standard}) {
    for (bool backward : {false, true}) {
      SimConfig c;
      c.algorithm = a;
      c.shape = {1, 1, 65536, 65536, 128};
      c.counting_only = true;
      auto t0 = std::chrono::steady_clock::now();
      IoStats s;
      WorkRecord work;
      if (backward) {
        SimBackward r = simulate_backward(c, nullptr, nullptr, nullptr, nullptr);
        s = r.stats;
        work = std::move(r.work);
      } else {
        SimForward r = simulate_forward(c, nullptr, nullptr, nullptr);
        s = r.stats;
        work = std::move(r.work);
      }
      const double simulate_s = seconds_since(t0);
      t0 = std::chrono::steady_clock::now();
      const Prediction p = predict_runtime(work, h200_sxm());
      std::printf("  %-9s %-4s simulate %.3f s (%lld bytes), predict %.3f s (%s)\n", to_string(a),
                  backward ? "bwd" : "fwd", simulate_s, static_cast<long long>(s.total_bytes()),
                  seconds_since(t0), to_string(p.bound));
    }
  }
}

void trace_speed() {
  std::printf("\nTrace recording, N = 4096, d = 64, 64x64 tiles, 1 head, with arithmetic:\n");
  for (Algorithm a : {Algorithm::Flash, Algorithm::Flash2, Algorithm::Standard}) {
    SimConfig c;
    c.algorithm = a;
    c.shape = {1, 1, 4096, 4096, 64};
    c.tiles = TileSizes{64, 64};
    Tensor<float> Q(q_dims(c.shape)), K(kv_dims(c.shape)), V(kv_dims(c.shape));
    for (size_t k = 0; k < Q.data.size(); ++k) {
      Q.data[k] = float(k % 7) * 0.1f;
      K.data[k] = float(k % 5) * 0.1f;
      V.data[k] = float(k % 3);
    }
    auto t0 = std::chrono::steady_clock::now();
    const SimForward f = simulate_forward(c, &Q, &K, &V);
    const double run = seconds_since(t0);
    c.record_trace = false;
    t0 = std::chrono::steady_clock::now();
    simulate_forward(c, &Q, &K, &V);
    const double bare = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    std::ostringstream json;
    write_trace_json(f.trace, json);
    const double write = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    std::istringstream in(json.str());
    const Trace back = read_trace_json(in);
    const double read = seconds_since(t0);
    std::printf(
        "  %-9s %zu events, %zu softmax rows: run+record %.2f s (no trace %.2f s), "
        "JSON %.1f MB written %.2f s, read %.2f s\n",
        to_string(a), f.trace.events.size(), f.trace.softmax_rows.size(), run, bare,
        double(json.str().size()) / 1e6, write, read);
    (void)back;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (argc > 2 || (mode != "" && mode != "docs" && mode != "trace-example")) {
    std::fprintf(stderr,
                 "flashlab-sim-report: unexpected argument '%s'; accepted: none, 'docs' or "
                 "'trace-example'\n",
                 argv[argc > 2 ? 2 : 1]);
    return 2;
  }
  try {
    if (mode == "trace-example") {
      std::printf("%s\n", to_json(tools::trace_example_run()).dump(1).c_str());
    } else if (mode == "docs") {
      print_doc_items(false);
    } else {
      print_doc_items(true);
      counting_speed();
      trace_speed();
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "flashlab-sim-report: %s\n", e.what());
    return 1;
  }
  return 0;
}
