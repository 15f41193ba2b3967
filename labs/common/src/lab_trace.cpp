// record_machine_run: the student's run and the simulator's on one case, written as two traces
// (simulator/include/flashlab/simulator/trace/trace_json.hpp) for flashlab-viz --compare.
#include <flashlab/labs/lab_trace.hpp>

#include <cstdio>
#include <fstream>
#include <random>

#include <flashlab/core/error.hpp>
#include <flashlab/core/tensor.hpp>
#include <flashlab/labs/todo.hpp>
#include <flashlab/simulator/simulate.hpp>
#include <flashlab/simulator/trace/trace_json.hpp>

namespace flashlab::labs {

namespace sim = flashlab::simulator;

namespace {

constexpr int kElementBytes = 2;  // fp16 in HBM and SRAM, as every lab on the machine uses

struct Inputs {
  Tensor<float> Q, K, V;
};

Inputs random_inputs(const MachineCase& c) {
  std::mt19937 rng(c.seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Inputs in{Tensor<float>(q_dims(c.shape)), Tensor<float>(kv_dims(c.shape)),
            Tensor<float>(kv_dims(c.shape))};
  for (Tensor<float>* t : {&in.Q, &in.K, &in.V})
    for (float& x : t->data) x = normal(rng);
  return in;
}

void write_trace(const sim::Trace& trace, const std::string& path) {
  std::ofstream out(path);
  require(bool(out), "cannot write " + path);
  sim::write_trace_json(trace, out);
}

std::string describe(const MachineCase& c) {
  const AttentionShape& s = c.shape;
  std::string text = "N_q=" + std::to_string(s.seq_q) + ", N_k=" + std::to_string(s.seq_k) +
                     ", d=" + std::to_string(s.head_dim) +
                     ", B_r=" + std::to_string(c.tiles.block_rows) +
                     ", B_c=" + std::to_string(c.tiles.block_cols) + ", SRAM " +
                     std::to_string(c.sram_bytes) + " B";
  if (c.options.causal) text += ", causal";
  if (c.options.block_mask) text += ", block-sparse";
  return text;
}

// Per tensor, bytes read and written by both runs, for the tensors either run moved.
std::string byte_table(const sim::IoStats& yours, const sim::IoStats& solution) {
  char line[96];
  std::string text = "HBM bytes            yours   solution\n";
  for (int k = 0; k < sim::kTensorCount; ++k) {
    const auto t = static_cast<sim::TensorId>(k);
    const sim::TensorTraffic &a = yours[t], &b = solution[t];
    if (a.bytes_read + b.bytes_read > 0) {
      std::snprintf(line, sizeof line, "  %-5s read   %9lld  %9lld%s\n", sim::tensor_name(t),
                    static_cast<long long>(a.bytes_read), static_cast<long long>(b.bytes_read),
                    a.bytes_read == b.bytes_read ? "" : "   <- differs");
      text += line;
    }
    if (a.bytes_written + b.bytes_written > 0) {
      std::snprintf(line, sizeof line, "  %-5s write  %9lld  %9lld%s\n", sim::tensor_name(t),
                    static_cast<long long>(a.bytes_written),
                    static_cast<long long>(b.bytes_written),
                    a.bytes_written == b.bytes_written ? "" : "   <- differs");
      text += line;
    }
  }
  std::snprintf(line, sizeof line, "  total        %9lld  %9lld",
                static_cast<long long>(yours.bytes_read() + yours.bytes_written()),
                static_cast<long long>(solution.bytes_read() + solution.bytes_written()));
  return text + line;
}

}  // namespace

std::string solution_path(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const size_t dot = path.find_last_of('.');
  const bool has_extension =
      dot != std::string::npos && (slash == std::string::npos || dot > slash);
  return (has_extension ? path.substr(0, dot) : path) + ".solution.json";
}

RecordedRun record_machine_run(const std::string& path, const MachineCase& c,
                               const StudentRun& student) {
  const AttentionParams params = make_params(c.options, c.shape);
  const Inputs in = random_inputs(c);

  sim::Trace trace;
  trace.algorithm = sim::Algorithm::Flash;
  trace.title = student.title;
  trace.pseudo_code = student.pseudo_code;
  trace.shape = c.shape;
  trace.tiles = c.tiles;
  trace.sram_capacity_bytes = c.sram_bytes;
  trace.element_bytes = kElementBytes;
  trace.softmax_scale = params.scale;
  trace.causal = c.options.causal;
  trace.block_sparse = c.options.block_mask.has_value();

  sim::Machine M({c.sram_bytes, kElementBytes, false, params}, &trace);
  M.set_context(student.title.c_str());
  M.begin_head(0, 0, true);
  M.hbm().upload(sim::TensorId::Q, c.shape.seq_q, c.shape.head_dim, in.Q.ptr());
  M.hbm().upload(sim::TensorId::K, c.shape.seq_k, c.shape.head_dim, in.K.ptr());
  M.hbm().upload(sim::TensorId::V, c.shape.seq_k, c.shape.head_dim, in.V.ptr());
  std::string stopped;
  try {
    student.run(M, sim::make_head_problem(c.shape, params, c.tiles));
  } catch (const NotImplemented& e) {
    stopped = e.what();
  } catch (const Error& e) {
    stopped = std::string("the machine refused a step: ") + e.what();
  } catch (const std::exception& e) {
    stopped = std::string("your code threw an exception: ") + e.what();
  }
  if (!stopped.empty()) trace.title += " [stopped early: " + stopped + "]";
  fill_loop_indices(trace);

  sim::SimConfig sc;
  sc.algorithm = sim::Algorithm::Flash;
  sc.shape = c.shape;
  sc.options = c.options;
  sc.sram_bytes = c.sram_bytes;
  sc.element_bytes = kElementBytes;
  sc.tiles = c.tiles;
  sc.record_trace = true;
  const sim::SimForward solution = sim::simulate_forward(sc, &in.Q, &in.K, &in.V);

  const std::string other = solution_path(path);
  write_trace(trace, path);
  write_trace(solution.trace, other);

  RecordedRun run;
  run.finished = stopped.empty();
  run.report = "the case: " + describe(c) + "\n" + "wrote your run: " + path + " (" +
               std::to_string(trace.events.size()) + " steps" +
               (stopped.empty() ? "" : "; your code stopped early: " + stopped) + ")\n" +
               "wrote the simulator's " + solution.trace.title + " on the same inputs: " + other +
               " (" + std::to_string(solution.trace.events.size()) + " steps)\n" +
               byte_table(M.stats(), solution.stats) + "\n" +
               "watch them side by side, aligned by loop step (i, j), with the first difference "
               "marked:\n  flashlab-viz --trace " +
               path + " --compare " + other;
  return run;
}

}  // namespace flashlab::labs
