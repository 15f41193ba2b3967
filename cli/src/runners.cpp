// The reference and simulator rows of compare: run, time, and record outputs, IoStats, the
// roofline prediction and the extra memory of each pass.
#include <flashlab/cli/runners.hpp>

#include <chrono>
#include <flashlab/reference/attention.hpp>
#include <flashlab/simulator/simulate.hpp>

namespace flashlab::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool is_input_or_output(simulator::TensorId t) {
  using simulator::TensorId;
  switch (t) {
    case TensorId::Q:
    case TensorId::K:
    case TensorId::V:
    case TensorId::O:
    case TensorId::dO:
    case TensorId::dQ:
    case TensorId::dK:
    case TensorId::dV:
      return true;
    default:
      return false;
  }
}

int64_t tensor_elements_per_head(simulator::TensorId t, const AttentionShape& s) {
  using simulator::TensorId;
  switch (t) {
    case TensorId::l:
    case TensorId::m:
    case TensorId::L:
    case TensorId::D:
      return s.seq_q;
    case TensorId::dQ_acc:
      return s.seq_q * s.head_dim;
    default:
      return s.seq_q * s.seq_k;  // S, P, P_dropped, dS, dP, Z
  }
}

double extra_bytes(const std::vector<const simulator::IoStats*>& passes, const AttentionShape& s) {
  double bytes = 0;
  for (int k = 0; k < simulator::kTensorCount; ++k) {
    const auto t = static_cast<simulator::TensorId>(k);
    if (is_input_or_output(t)) continue;
    int element = 0;
    for (const simulator::IoStats* p : passes) {
      const simulator::TensorTraffic& traffic = (*p)[t];
      // FA2's dQ accumulator is fp32 whatever the element type.
      if (traffic.bytes_read + traffic.bytes_written > 0)
        element = t == simulator::TensorId::dQ_acc ? 4 : p->element_bytes;
    }
    if (element > 0)
      bytes += double(tensor_elements_per_head(t, s)) * double(s.batch * s.heads) * element;
  }
  return bytes;
}

// Returns std::string: assigning a const char* here trips GCC 12's -Wrestrict false positive
// (GCC bug 105329) at -O3.
std::string sim_name(simulator::Algorithm a) {
  switch (a) {
    case simulator::Algorithm::Standard:
      return "standard (simulator)";
    case simulator::Algorithm::Flash:
      return "flash (simulator)";
    case simulator::Algorithm::Flash2:
      return "flash2 (simulator)";
  }
  return "?";
}

const char* sim_description(simulator::Algorithm a) {
  switch (a) {
    case simulator::Algorithm::Standard:
      return "standard attention, S and P through HBM (FA1 Alg. 0 / FA1 Alg. 3), float32 math";
    case simulator::Algorithm::Flash:
      return "FlashAttention, tiled with online softmax (FA1 Alg. 2 + FA1 Alg. 5 / FA1 Alg. 4), "
             "float32 math";
    case simulator::Algorithm::Flash2:
      return "FlashAttention-2: Q blocks outer, one unit per block (FA2 Alg. 1 / FA2 Alg. 2), "
             "float32 math";
  }
  return "?";
}

}  // namespace

double extra_memory_bytes(const simulator::IoStats& stats, const AttentionShape& shape) {
  return extra_bytes({&stats}, shape);
}

double extra_memory_bytes(const simulator::IoStats& forward, const simulator::IoStats& backward,
                          const AttentionShape& shape) {
  return extra_bytes({&forward, &backward}, shape);
}

ImplementationRun run_reference(const Problem& p, const Inputs& in, bool backward) {
  ImplementationRun run;
  run.name = "reference (float64)";
  run.id = "reference";
  run.kind = ImplementationKind::Reference;
  run.description = "standard attention in float64 (Eigen), FA1 Alg. 0 / FA1 Alg. 3: the answer";
  run.precision = OutputPrecision::Float64;
  run.measured_on = "host CPU";
  // It holds S and P (and the dropout multiplier Z) of one (batch, head) slice at a time in
  // float64, and in the backward also dP and dS.
  const double scores = double(p.shape.seq_q) * double(p.shape.seq_k) * 8.0;
  const double dropout_matrix = p.options.dropout_p > 0 ? 1.0 : 0.0;

  PassRun fwd;
  auto start = Clock::now();
  const ForwardResult<double> result =
      reference::attention_forward(p.shape, p.options, in.Q, in.K, in.V);
  fwd.measured_seconds = seconds_since(start);
  fwd.outputs = forward_outputs(result);
  fwd.extra_memory_bytes = (2.0 + dropout_matrix) * scores;
  run.forward = std::move(fwd);

  if (backward) {
    PassRun bwd;
    start = Clock::now();
    const Gradients<double> grads =
        reference::attention_backward(p.shape, p.options, in.Q, in.K, in.V, in.dO);
    bwd.measured_seconds = seconds_since(start);
    bwd.outputs = backward_outputs(grads);
    bwd.extra_memory_bytes = (4.0 + dropout_matrix) * scores;
    run.backward = std::move(bwd);
  }
  return run;
}

ImplementationRun run_simulated(const Problem& p, const Inputs& in, simulator::Algorithm algorithm,
                                bool backward) {
  ImplementationRun run;
  run.name = sim_name(algorithm);
  run.id = std::string(simulator::to_string(algorithm)) + "_sim";
  run.kind = ImplementationKind::Simulator;
  run.description = sim_description(algorithm);
  run.precision = OutputPrecision::Float32;
  run.measured_on = "host CPU";
  const Tensor<float> Q = to_float(in.Q), K = to_float(in.K), V = to_float(in.V);
  const simulator::SimConfig config = sim_config(p, algorithm, backward);

  PassRun fwd;
  auto start = Clock::now();
  simulator::SimForward f = simulator::simulate_forward(config, &Q, &K, &V);
  fwd.measured_seconds = seconds_since(start);
  fwd.outputs = forward_outputs(f.result);
  fwd.extra_memory_bytes = extra_memory_bytes(f.stats, p.shape);
  fwd.prediction = simulator::predict_runtime(f.work, p.gpu);
  fwd.tiles = f.tiles;
  fwd.io = f.stats;
  run.forward = std::move(fwd);

  if (backward) {
    const Tensor<float> dO = to_float(in.dO);
    PassRun bwd;
    start = Clock::now();
    simulator::SimBackward b = simulator::simulate_backward(config, &Q, &K, &V, &dO);
    bwd.measured_seconds = seconds_since(start);
    bwd.outputs = backward_outputs(b.grads);
    bwd.extra_memory_bytes = extra_memory_bytes(run.forward->io.value(), b.stats, p.shape);
    bwd.prediction = simulator::predict_runtime(b.work, p.gpu);
    bwd.tiles = b.tiles;
    bwd.io = b.stats;
    run.backward = std::move(bwd);
  }
  return run;
}

}  // namespace flashlab::cli
