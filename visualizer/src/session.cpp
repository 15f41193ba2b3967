// Building a session: run the simulator (the visualizer never computes attention itself), the
// baseline for the comparison, and, for small problems, the score matrix (a simulator run of
// FA1 Alg. 0, which materializes S) and the float64 reference for the online-softmax panel.
#include <flashlab/viz/session.hpp>

#include <cmath>
#include <istream>
#include <random>

#include <flashlab/reference/attention.hpp>
#include <flashlab/simulator/algorithms/problem.hpp>
#include <flashlab/simulator/algorithms/standard_attention.hpp>
#include <flashlab/simulator/machine/machine.hpp>
#include <flashlab/simulator/trace/trace_json.hpp>

namespace flashlab::viz {

namespace sim = flashlab::simulator;

namespace {

struct Inputs {
  Tensor<float> Q, K, V, dO;
};

// Standard normal inputs from the seed: scores tau q.k are then ~N(0, 1), so the running max
// moves often in the first blocks and rarely later -- the rescaling the panel shows.
Inputs make_inputs(const AttentionShape& shape, uint64_t seed) {
  std::mt19937_64 rng(seed ^ 0x666c6173686c6162ull);  // "flashlab"
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto fill = [&](std::vector<int64_t> dims) {
    Tensor<float> t(std::move(dims));
    for (float& x : t.data) x = normal(rng);
    return t;
  };
  return {fill(q_dims(shape)), fill(kv_dims(shape)), fill(kv_dims(shape)), fill(q_dims(shape))};
}

Tensor<double> to_double(const Tensor<float>& t) {
  Tensor<double> d(t.dims);
  for (size_t k = 0; k < t.data.size(); ++k) d.data[k] = t.data[k];
  return d;
}

// S = mask(tau Q K^T) for the one head, read from HBM after the simulator's standard attention
// (FA1 Alg. 0 l. 1 writes S to HBM). Uncounted, untraced: only its values are used.
std::vector<float> score_matrix(const sim::SimConfig& c, const Inputs& in) {
  const AttentionParams params = make_params(c.options, c.shape);
  const TileSizes tiles{std::min<int64_t>(64, c.shape.seq_q), std::min<int64_t>(64, c.shape.seq_k)};
  sim::Machine M({int64_t(1) << 40, c.element_bytes, false, params}, nullptr);
  M.begin_head(0, 0, false);
  M.hbm().upload(TensorId::Q, c.shape.seq_q, c.shape.head_dim, in.Q.ptr());
  M.hbm().upload(TensorId::K, c.shape.seq_k, c.shape.head_dim, in.K.ptr());
  M.hbm().upload(TensorId::V, c.shape.seq_k, c.shape.head_dim, in.V.ptr());
  sim::standard_forward(M, sim::make_head_problem(c.shape, params, tiles));
  const auto S = M.hbm().data(TensorId::S);
  return {S.begin(), S.end()};
}

RowValues row_values(const sim::SimConfig& c, const Inputs& in) {
  RowValues v;
  v.seq_q = c.shape.seq_q;
  v.seq_k = c.shape.seq_k;
  v.head_dim = c.shape.head_dim;
  v.scores = score_matrix(c, in);
  sim::SimConfig fwd = c;  // the forward's output and statistics (for a backward session too)
  fwd.record_trace = false;
  const sim::SimForward f = sim::simulate_forward(fwd, &in.Q, &in.K, &in.V);
  v.sim_O = f.result.O.data;
  v.sim_lse = f.result.lse.data;
  const ForwardResult<double> ref = reference::attention_forward(
      c.shape, c.options, to_double(in.Q), to_double(in.K), to_double(in.V));
  v.ref_O = ref.O.data;
  v.ref_lse = ref.lse.data;
  return v;
}

// The comparison partner: standard <-> flash, same pass, same tiles rule and options.
VizAlgorithm baseline_of(VizAlgorithm a) {
  switch (a) {
    case VizAlgorithm::Standard:
      return VizAlgorithm::Flash;
    case VizAlgorithm::StandardBackward:
      return VizAlgorithm::FlashBackward;
    case VizAlgorithm::FlashBackward:
    case VizAlgorithm::Flash2Backward:
      return VizAlgorithm::StandardBackward;
    case VizAlgorithm::Flash:
    case VizAlgorithm::Flash2:
    case VizAlgorithm::BlockSparse:
      break;
  }
  return VizAlgorithm::Standard;
}

void add_baseline(Session& s) {
  VizConfig b = s.config;
  b.algorithm = baseline_of(s.config.algorithm);
  b.sparse = sparse_pattern(s.config);
  b.kept_max = false;  // the baseline, standard attention, has no running max
  try {
    sim::SimConfig c = to_sim_config(b);
    c.counting_only = true;  // counts are identical without arithmetic (tested by the simulator)
    Baseline base;
    base.label = display_name(b.algorithm);
    sim::Trace trace;
    if (is_backward(b.algorithm)) {
      sim::SimBackward r = sim::simulate_backward(c, nullptr, nullptr, nullptr, nullptr);
      base.stats = r.stats;
      trace = std::move(r.trace);
    } else {
      sim::SimForward r = sim::simulate_forward(c, nullptr, nullptr, nullptr);
      base.stats = r.stats;
      trace = std::move(r.trace);
    }
    std::vector<int64_t> rd(trace.events.size() + 1, 0), wr(trace.events.size() + 1, 0);
    for (size_t k = 0; k < trace.events.size(); ++k) {
      const sim::Event& e = trace.events[k];
      rd[k + 1] = rd[k] + (e.kind == sim::EventKind::Load ? e.bytes : 0);
      wr[k + 1] = wr[k] + (e.kind == sim::EventKind::Store ? e.bytes : 0);
    }
    base.curve = make_curve(base.label, rd, wr);
    s.baseline = std::move(base);
  } catch (const Error& e) {
    s.baseline_note =
        std::string("no comparison with ") + display_name(b.algorithm) + ": " + e.what();
  }
}

void add_formula(Session& s, const sim::SimConfig& c) {
  try {
    s.formula = sim::io_formula(c, c.backward);
  } catch (const Error& e) {
    s.formula_note = e.what();
  }
}

}  // namespace

Session build_session(const VizConfig& config) {
  const sim::SimConfig c = to_sim_config(config);
  Session s;
  s.config = config;
  s.source = "simulator";
  s.has_values = !c.counting_only;
  Inputs in;
  if (s.has_values) in = make_inputs(c.shape, config.seed);
  const Tensor<float>* Q = s.has_values ? &in.Q : nullptr;
  const Tensor<float>* K = s.has_values ? &in.K : nullptr;
  const Tensor<float>* V = s.has_values ? &in.V : nullptr;
  if (c.backward) {
    sim::SimBackward r = sim::simulate_backward(c, Q, K, V, s.has_values ? &in.dO : nullptr);
    s.trace = std::move(r.trace);
    s.stats = r.stats;
    s.tiles = r.tiles;
    s.work = std::move(r.work);
  } else {
    sim::SimForward r = sim::simulate_forward(c, Q, K, V);
    s.trace = std::move(r.trace);
    s.stats = r.stats;
    s.tiles = r.tiles;
    s.work = std::move(r.work);
  }
  s.title = s.trace.title;
  if (s.has_values) {
    s.values = row_values(c, in);
    s.notes.push_back("Arithmetic on (N <= " + std::to_string(kMaxArithmeticSeq) +
                      "): the softmax panel shows real scores, statistics and the float64 "
                      "reference.");
  } else {
    s.notes.push_back("Counting only (N > " + std::to_string(kMaxArithmeticSeq) +
                      "): exact byte and FLOP counts, no values; the softmax panel shows "
                      "the order of updates only.");
  }
  add_baseline(s);
  add_formula(s, c);
  index_session(s);
  return s;
}

Session load_trace_session(std::istream& in, const std::string& source) {
  return session_from_trace(sim::read_trace_json(in), source);
}

Session session_from_trace(sim::Trace trace, const std::string& source) {
  Session s;
  s.trace = std::move(trace);
  s.from_trace_file = true;
  s.source = source;
  s.title = s.trace.title;
  s.tiles = s.trace.tiles;
  const sim::Trace& t = s.trace;
  VizConfig& c = s.config;
  c.algorithm = t.algorithm == sim::Algorithm::Standard
                    ? (t.backward ? VizAlgorithm::StandardBackward : VizAlgorithm::Standard)
                : t.algorithm == sim::Algorithm::Flash2
                    ? (t.backward ? VizAlgorithm::Flash2Backward : VizAlgorithm::Flash2)
                : t.backward     ? VizAlgorithm::FlashBackward
                : t.block_sparse ? VizAlgorithm::BlockSparse
                                 : VizAlgorithm::Flash;
  c.seq = t.shape.seq_q;
  c.head_dim = t.shape.head_dim;
  c.sram_bytes = t.sram_capacity_bytes;
  c.tiles = t.tiles;
  c.causal = t.causal;
  c.dropout = t.dropout_p;
  c.kept_max = t.kept_max;

  // The counts come from the events (a trace does not say which FLOPs were matrix products).
  s.flops_split = false;
  s.stats.element_bytes = t.element_bytes;
  for (const sim::Event& e : t.events) {
    if (e.tensor != TensorId::None && e.kind == sim::EventKind::Load) {
      s.stats[e.tensor].bytes_read += e.bytes;
      s.stats[e.tensor].reads += 1;
    } else if (e.tensor != TensorId::None && e.kind == sim::EventKind::Store) {
      s.stats[e.tensor].bytes_written += e.bytes;
      s.stats[e.tensor].writes += 1;
    }
    s.stats.other_flops += e.flops;
    s.stats.exp_ops += e.exps;
    s.stats.random_draws += e.draws;
    s.stats.peak_sram_bytes = std::max(s.stats.peak_sram_bytes, e.sram_used_bytes);
  }
  s.notes.push_back("Replaying " + source +
                    ": recorded statistics only (no inputs, so no "
                    "scores or reference).");
  if (t.shape.batch * t.shape.heads > 1)
    s.notes.push_back("The trace holds " + std::to_string(t.shape.batch * t.shape.heads) +
                      " heads; the grids show them on top of one another.");
  if (t.block_sparse) {
    s.baseline_note = "no comparison: the trace does not record its sparsity pattern";
    s.formula_note = "the trace does not record its sparsity pattern";
  } else if (t.shape.seq_q == t.shape.seq_k && t.shape.batch == 1 && t.shape.heads == 1) {
    add_baseline(s);
    try {
      sim::SimConfig sc = to_sim_config(c);
      add_formula(s, sc);
      // The same run counting-only gives the matmul / other FLOP split; use it only if its
      // traffic is the trace's (the trace may come from another version of the simulator).
      sc.counting_only = true;
      sc.record_trace = false;
      const sim::IoStats rerun =
          sc.backward ? sim::simulate_backward(sc, nullptr, nullptr, nullptr, nullptr).stats
                      : sim::simulate_forward(sc, nullptr, nullptr, nullptr).stats;
      s.flops_split = rerun.bytes_read() == s.stats.bytes_read() &&
                      rerun.bytes_written() == s.stats.bytes_written() &&
                      rerun.matmul_flops + rerun.other_flops == s.stats.other_flops;
      if (s.flops_split) s.stats = rerun;
    } catch (const Error& e) {
      s.formula_note = e.what();
    }
  } else {
    s.baseline_note = "no comparison for traces with several heads or seq_q != seq_k";
    s.formula_note = s.baseline_note;
  }
  index_session(s);
  return s;
}

}  // namespace flashlab::viz
