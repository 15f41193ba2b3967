// flashlab-sim-report: prints the numbers quoted in docs/simulator.md and docs/trace-format.md
// (the worked example, the counting-only and trace-recording times). Run from a Release build:
//   build/<dir>/simulator/flashlab-sim-report                 worked example and timings
//   build/<dir>/simulator/flashlab-sim-report trace-example   a tiny trace as JSON
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include <flashlab/simulator/model/gpu_spec.hpp>
#include <flashlab/simulator/model/io_formulas.hpp>
#include <flashlab/simulator/model/performance_model.hpp>
#include <flashlab/simulator/simulate.hpp>
#include <flashlab/simulator/trace/trace_json.hpp>

using namespace flashlab;
using namespace flashlab::simulator;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void worked_example() {
  const GpuSpec gpu = a100_40gb();
  std::printf("Worked example: d = 64, M = 100 KiB fp16 (51200 elements), batch 1, 1 head, %s\n",
              gpu.name.c_str());
  std::printf("%-6s %-9s %-7s %9s %14s %14s %12s %10s %8s\n", "N", "algorithm", "pass", "Br x Bc",
              "HBM bytes", "S/P/dP/dS B", "Q+O (+dO,dQ)", "predicted", "bound");
  for (int64_t N : {1024, 2048, 4096}) {
    for (Algorithm a : {Algorithm::Standard, Algorithm::Flash, Algorithm::Flash2}) {
      for (bool backward : {false, true}) {
        SimConfig c;
        c.algorithm = a;
        c.shape = {1, 1, N, N, 64};
        c.sram_bytes = 100 * 1024;
        c.counting_only = true;
        IoStats s;
        WorkRecord work;
        TileSizes t;
        if (backward) {
          SimBackward r = simulate_backward(c, nullptr, nullptr, nullptr, nullptr);
          s = r.stats;
          t = r.tiles;
          work = std::move(r.work);
        } else {
          SimForward r = simulate_forward(c, nullptr, nullptr, nullptr);
          s = r.stats;
          t = r.tiles;
          work = std::move(r.work);
        }
        int64_t nn = 0, qo = 0;
        for (TensorId id : {TensorId::S, TensorId::P, TensorId::dP, TensorId::dS})
          nn += s[id].bytes_read + s[id].bytes_written;
        for (TensorId id : {TensorId::Q, TensorId::O, TensorId::dO, TensorId::dQ})
          qo += s[id].bytes_read + s[id].bytes_written;
        const Prediction e = predict_runtime(work, gpu);
        char tiles[32];
        std::snprintf(tiles, sizeof tiles, "%lldx%lld", static_cast<long long>(t.block_rows),
                      static_cast<long long>(t.block_cols));
        std::printf("%-6lld %-9s %-7s %9s %14lld %14lld %12lld %8.1fus %8s\n",
                    static_cast<long long>(N), to_string(a), backward ? "bwd" : "fwd", tiles,
                    static_cast<long long>(s.total_bytes()), static_cast<long long>(nn),
                    static_cast<long long>(qo), e.predicted_s * 1e6, to_string(e.bound));
      }
    }
  }
  SimConfig c;
  c.shape = {1, 1, 1024, 1024, 64};
  c.sram_bytes = 100 * 1024;
  c.counting_only = true;
  std::printf("\nFlashAttention forward N=1024, per tensor:\n%s",
              format_table(simulate_forward(c, nullptr, nullptr, nullptr).stats).c_str());
  c.algorithm = Algorithm::Standard;
  std::printf("\nStandard attention forward N=1024, per tensor:\n%s",
              format_table(simulate_forward(c, nullptr, nullptr, nullptr).stats).c_str());
  const IoFormula f = io_formula(c);
  std::printf("closed form %lld bytes, %s = %.3g elements\n",
              static_cast<long long>(f.total_bytes()), f.theta.c_str(), f.theta_elements);
}

void counting_speed() {
  std::printf("\nCounting-only speed, N = 65536, d = 128, default SRAM (192 KiB), 1 head:\n");
  for (Algorithm a : {Algorithm::Flash, Algorithm::Flash2, Algorithm::Standard}) {
    for (bool backward : {false, true}) {
      if (backward && a == Algorithm::Flash2) continue;
      SimConfig c;
      c.algorithm = a;
      c.shape = {1, 1, 65536, 65536, 128};
      c.counting_only = true;
      const auto t0 = std::chrono::steady_clock::now();
      const IoStats s = backward ? simulate_backward(c, nullptr, nullptr, nullptr, nullptr).stats
                                 : simulate_forward(c, nullptr, nullptr, nullptr).stats;
      std::printf("  %-9s %-4s %.3f s (%lld bytes)\n", to_string(a), backward ? "bwd" : "fwd",
                  seconds_since(t0), static_cast<long long>(s.total_bytes()));
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

// A complete trace of a tiny problem, pretty-printed: the example of docs/trace-format.md.
void trace_example() {
  SimConfig c;
  c.algorithm = Algorithm::Flash2;
  c.shape = {1, 1, 2, 4, 2};
  c.tiles = TileSizes{2, 2};
  c.options.causal = true;
  const Tensor<float> Q({1, 1, 2, 2}, 0.5f), K({1, 1, 4, 2}, 0.25f), V({1, 1, 4, 2}, 1.0f);
  std::printf("%s\n", to_json(simulate_forward(c, &Q, &K, &V).trace).dump(1).c_str());
}

int main(int argc, char** argv) {
  try {
    if (argc > 1 && std::string(argv[1]) == "trace-example") {
      trace_example();
      return 0;
    }
    worked_example();
    counting_speed();
    trace_speed();
  } catch (const Error& e) {
    std::fprintf(stderr, "flashlab-sim-report: %s\n", e.what());
    return 1;
  }
  return 0;
}
