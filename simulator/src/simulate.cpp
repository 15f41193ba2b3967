// simulate_forward / simulate_backward: validate, pick the tiles, then run the algorithm on the
// machine once per (batch, head), moving each head's inputs into HBM and its outputs out.
#include <flashlab/simulator/simulate.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

#include <flashlab/core/softmax_state.hpp>
#include <flashlab/simulator/algorithms/flash2_backward.hpp>
#include <flashlab/simulator/algorithms/flash2_forward.hpp>
#include <flashlab/simulator/algorithms/flash_backward.hpp>
#include <flashlab/simulator/algorithms/flash_forward.hpp>
#include <flashlab/simulator/algorithms/standard_attention.hpp>
#include <flashlab/simulator/algorithms/tiling_fit.hpp>
#include <flashlab/simulator/machine/machine.hpp>

namespace flashlab::simulator {
namespace {

FitQuery fit_query(const SimConfig& c, bool backward) {
  return {c.algorithm,  backward || c.backward, c.shape,
          c.sram_bytes, c.element_bytes,        c.options.dropout_p > 0.0};
}

// Flash2's backward has tiles of its own (FA2 picks them apart from the forward's); the FA1 and
// standard backward reuse the forward's (FA1 Alg. 4 l. 2), so theirs must fit both passes.
bool own_backward_tiles(const SimConfig& c) {
  return c.algorithm == Algorithm::Flash2;
}

TileSizes clipped(TileSizes t, const AttentionShape& s) {
  return {std::min(t.block_rows, s.seq_q), std::min(t.block_cols, s.seq_k)};
}

TileSizes resolve(const SimConfig& c, bool backward) {
  const bool separate = own_backward_tiles(c);
  FitQuery q = fit_query(c, backward);
  std::optional<TileSizes> given = c.tiles;
  if (separate) {
    q.backward = backward;  // each pass fits on its own
    if (backward && c.backward_tiles) given = c.backward_tiles;
    if (backward && !c.backward_tiles) given.reset();
  }
  if (!given) return clipped(default_tiles(q), c.shape);
  require_tiles_fit(q, *given);
  return clipped(*given, c.shape);
}

void require_input(const Tensor<float>* t, const std::vector<int64_t>& dims, const char* name,
                   bool counting_only) {
  if (t == nullptr) {
    require(counting_only, std::string(name) +
                               " is missing (only counting-only runs may omit "
                               "inputs)");
    return;
  }
  require_dims(*t, dims, name);
  for (float x : t->data)
    require(std::isfinite(x), std::string(name) + " contains NaN or Inf; inputs must be finite");
}

// Everything one run shares: the validated parameters, the tiles, the trace header.
struct Run {
  AttentionParams params;
  TileSizes tiles;
  bool record = false;
};

Run prepare(const SimConfig& c, bool backward, Trace& trace) {
  Run run;
  run.params = make_params(c.options, c.shape);
  require(c.element_bytes >= 1 && c.element_bytes <= 8,
          "element size must be 1..8 bytes, got " + std::to_string(c.element_bytes));
  require(c.sram_bytes >= 1, "SRAM size must be >= 1 byte, got " + std::to_string(c.sram_bytes));
  run.tiles = resolve(c, backward);
  run.record = c.record_trace.value_or(!c.counting_only);

  const PseudoCode& code =
      c.algorithm == Algorithm::Standard
          ? (backward ? standard_backward_code() : standard_forward_code())
      : c.algorithm == Algorithm::Flash2
          ? (backward ? flash2_backward_code() : flash2_forward_code(c.kept_max))
      : backward ? flash_backward_code()
                 : flash_forward_code(run.params.mask.causal || c.options.block_mask.has_value());
  trace.algorithm = c.algorithm;
  trace.backward = backward;
  trace.title = code.title;
  trace.pseudo_code = code.lines;
  trace.shape = c.shape;
  trace.tiles = run.tiles;
  trace.sram_capacity_bytes = c.sram_bytes;
  trace.element_bytes = c.element_bytes;
  trace.softmax_scale = run.params.scale;
  trace.causal = c.options.causal;
  trace.dropout_p = c.options.dropout_p;
  trace.kept_max = c.kept_max && c.algorithm == Algorithm::Flash2 && !backward;
  trace.block_sparse = c.options.block_mask.has_value();
  return run;
}

// One head's problem with run's tiles (or `tiles`) and the config's algorithm options.
HeadProblem head_problem(const SimConfig& c, const Run& run, const TileSizes& tiles) {
  HeadProblem p = make_head_problem(c.shape, run.params, tiles);
  p.kept_max = c.kept_max;
  return p;
}

bool record_head(const SimConfig& c, const Run& run, int64_t b, int64_t h) {
  return run.record && (!c.trace_first_head_only || (b == 0 && h == 0));
}

const float* head_ptr(const Tensor<float>* t, const AttentionShape& s, int64_t b, int64_t h,
                      int64_t seq) {
  return t == nullptr ? nullptr : t->ptr() + s.offset(b, h, 0, seq);
}

void download(const Hbm& hbm, TensorId id, Tensor<float>& out, const AttentionShape& s, int64_t b,
              int64_t h, int64_t seq) {
  const auto data = hbm.data(id);
  std::memcpy(out.ptr() + s.offset(b, h, 0, seq), data.data(), sizeof(float) * data.size());
}

// The logsumexp of each query row, from what the algorithm left in HBM (host side, uncounted).
void download_lse(const SimConfig& c, const Hbm& hbm, Tensor<float>& lse, int64_t b, int64_t h) {
  const AttentionShape& s = c.shape;
  float* out = lse.ptr() + (b * s.heads + h) * s.seq_q;
  if (c.algorithm == Algorithm::Flash2) {
    std::memcpy(out, hbm.data(TensorId::L).data(), sizeof(float) * size_t(s.seq_q));
  } else if (c.algorithm == Algorithm::Flash) {  // FA1 Alg. 2 returns l and m
    for (int64_t r = 0; r < s.seq_q; ++r)
      out[r] = logsumexp(
          SoftmaxState<float>{hbm.data(TensorId::m)[size_t(r)], hbm.data(TensorId::l)[size_t(r)]});
  } else {  // standard: from the (masked) scores S
    const auto S = hbm.data(TensorId::S);
    for (int64_t r = 0; r < s.seq_q; ++r) {
      const float* row = S.data() + r * s.seq_k;
      SoftmaxState<float> st;
      for (int64_t k = 0; k < s.seq_k; ++k) st = merge(st, SoftmaxState<float>{row[k], 1.0f});
      out[r] = logsumexp(st);
    }
  }
}

void run_forward(const SimConfig& c, Machine& M, const HeadProblem& p) {
  switch (c.algorithm) {
    case Algorithm::Standard:
      standard_forward(M, p);
      break;
    case Algorithm::Flash:
      flash_forward(M, p);
      break;
    case Algorithm::Flash2:
      flash2_forward(M, p);
      break;
  }
}

}  // namespace

TileSizes resolve_tiles(const SimConfig& config) {
  return resolve(config, config.backward && !own_backward_tiles(config));
}

TileSizes resolve_backward_tiles(const SimConfig& config) {
  return resolve(config, true);
}

SimForward simulate_forward(const SimConfig& c, const Tensor<float>* Q, const Tensor<float>* K,
                            const Tensor<float>* V) {
  SimForward out;
  const Run run = prepare(c, false, out.trace);
  out.tiles = run.tiles;
  const AttentionShape& s = c.shape;
  require_input(Q, q_dims(s), "Q", c.counting_only);
  require_input(K, kv_dims(s), "K", c.counting_only);
  require_input(V, kv_dims(s), "V", c.counting_only);
  if (!c.counting_only) out.result = {Tensor<float>(q_dims(s)), Tensor<float>(lse_dims(s))};

  Machine M({c.sram_bytes, c.element_bytes, c.counting_only, run.params},
            run.record ? &out.trace : nullptr, &out.work);
  M.set_context(out.trace.title.c_str());
  const HeadProblem p = head_problem(c, run, run.tiles);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.heads; ++h) {
      M.begin_head(b, h, record_head(c, run, b, h));
      M.hbm().upload(TensorId::Q, s.seq_q, s.head_dim, head_ptr(Q, s, b, h, s.seq_q));
      M.hbm().upload(TensorId::K, s.seq_k, s.head_dim, head_ptr(K, s, b, h, s.seq_k));
      M.hbm().upload(TensorId::V, s.seq_k, s.head_dim, head_ptr(V, s, b, h, s.seq_k));
      run_forward(c, M, p);
      if (c.counting_only) continue;
      download(M.hbm(), TensorId::O, out.result.O, s, b, h, s.seq_q);
      download_lse(c, M.hbm(), out.result.lse, b, h);
    }
  }
  M.finish_work();
  out.work.heads = s.batch * s.heads;
  out.stats = M.stats();
  return out;
}

SimBackward simulate_backward(const SimConfig& c, const Tensor<float>* Q, const Tensor<float>* K,
                              const Tensor<float>* V, const Tensor<float>* dO) {
  SimBackward out;
  const Run run = prepare(c, true, out.trace);
  out.tiles = run.tiles;
  const AttentionShape& s = c.shape;
  require_input(Q, q_dims(s), "Q", c.counting_only);
  require_input(K, kv_dims(s), "K", c.counting_only);
  require_input(V, kv_dims(s), "V", c.counting_only);
  require_input(dO, q_dims(s), "dO", c.counting_only);
  if (!c.counting_only)
    out.grads = {Tensor<float>(q_dims(s)), Tensor<float>(kv_dims(s)), Tensor<float>(kv_dims(s))};

  Machine M({c.sram_bytes, c.element_bytes, c.counting_only, run.params},
            run.record ? &out.trace : nullptr, &out.work);
  const HeadProblem p = head_problem(c, run, run.tiles);
  // The forward that leaves O and L (or S, P; or O, l, m) in HBM: the same tiles, except for
  // Flash2, whose forward has its own.
  const HeadProblem p_forward = own_backward_tiles(c) ? head_problem(c, run, resolve(c, false)) : p;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.heads; ++h) {
      M.begin_head(b, h, record_head(c, run, b, h));
      M.hbm().upload(TensorId::Q, s.seq_q, s.head_dim, head_ptr(Q, s, b, h, s.seq_q));
      M.hbm().upload(TensorId::K, s.seq_k, s.head_dim, head_ptr(K, s, b, h, s.seq_k));
      M.hbm().upload(TensorId::V, s.seq_k, s.head_dim, head_ptr(V, s, b, h, s.seq_k));
      // The forward leaves what the backward requires in HBM; it is not counted or traced.
      M.set_accounting(false);
      M.set_context(c.algorithm == Algorithm::Standard ? "standard attention forward (FA1 Alg. 0)"
                    : c.algorithm == Algorithm::Flash2 ? "FlashAttention-2 forward (FA2 Alg. 1)"
                                                       : "FlashAttention forward (FA1 Alg. 2)");
      run_forward(c, M, p_forward);
      M.set_accounting(true);
      M.set_context(out.trace.title.c_str());
      M.hbm().upload(TensorId::dO, s.seq_q, s.head_dim, head_ptr(dO, s, b, h, s.seq_q));
      switch (c.algorithm) {
        case Algorithm::Standard:
          standard_backward(M, p);
          break;
        case Algorithm::Flash:
          flash_backward(M, p);
          break;
        case Algorithm::Flash2:
          flash2_backward(M, p);
          break;
      }
      if (c.counting_only) continue;
      download(M.hbm(), TensorId::dQ, out.grads.dQ, s, b, h, s.seq_q);
      download(M.hbm(), TensorId::dK, out.grads.dK, s, b, h, s.seq_k);
      download(M.hbm(), TensorId::dV, out.grads.dV, s, b, h, s.seq_k);
    }
  }
  M.finish_work();
  out.work.heads = s.batch * s.heads;
  out.stats = M.stats();
  return out;
}

}  // namespace flashlab::simulator
