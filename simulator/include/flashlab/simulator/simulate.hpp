// The one entry point of the simulator: run an attention algorithm on the simulated GPU over
// every (batch, head) and return its results, the counts (IoStats) and the trace.
#pragma once

#include <cstdint>
#include <optional>

#include <flashlab/core/options.hpp>
#include <flashlab/core/results.hpp>
#include <flashlab/core/shape.hpp>
#include <flashlab/core/tensor.hpp>
#include <flashlab/core/tiling.hpp>
#include <flashlab/simulator/algorithm.hpp>
#include <flashlab/simulator/machine/io_stats.hpp>
#include <flashlab/simulator/machine/sram.hpp>
#include <flashlab/simulator/machine/work_record.hpp>
#include <flashlab/simulator/trace/trace.hpp>

namespace flashlab::simulator {

struct SimConfig {
  Algorithm algorithm = Algorithm::Flash;
  AttentionShape shape;
  AttentionOptions options;
  int64_t sram_bytes = kDefaultSramBytes;  // M in bytes (machine/sram.hpp)
  int element_bytes = 2;                   // fp16 in HBM and SRAM; arithmetic is float
  // Block sizes of the pass simulated; default: the algorithm's own (tiling_fit.hpp): FA1's rule
  // for Flash, FA2's tiles for Flash2, shrunk to fit the SRAM.
  std::optional<TileSizes> tiles;
  // Flash2 only: the backward's block sizes when they differ from the forward's (FA2 picks
  // other tiles for its backward); simulate_backward then uses `tiles` for the forward it runs
  // first and these for the backward. Ignored by the FA1 and standard algorithms, whose backward
  // reuses the forward's tiles (FA1 Alg. 4 l. 2).
  std::optional<TileSizes> backward_tiles;
  bool counting_only = false;  // no arithmetic: results are empty, counts are exact
  // Record the trace; default (nullopt): yes, except in counting-only mode.
  std::optional<bool> record_trace;
  bool trace_first_head_only = false;  // record (batch 0, head 0) only, to keep traces small
  // Choose default tiles that also fit the backward (FA1 Alg. 4 l. 2 reuses the forward's block
  // sizes). simulate_backward always does.
  bool backward = false;
  // Flash2's forward keeps its running max while the scores allow (FA4's conditional rescale,
  // flash2_forward.hpp), as our CUDA forward does: O_i is rescaled only when the max moves.
  // Ignored by the other algorithms and by Flash2's backward, which recomputes P from L.
  bool kept_max = false;
};

// The block sizes a run uses: config.tiles (checked against the SRAM) or the default, clipped
// to the problem (a block is never larger than the sequence). Throws flashlab::Error with what
// would fit when they do not. resolve_tiles gives the forward's (or, with config.backward, the
// tiles FA1 and standard share between their passes); resolve_backward_tiles the backward's.
TileSizes resolve_tiles(const SimConfig& config);
TileSizes resolve_backward_tiles(const SimConfig& config);

struct SimForward {
  ForwardResult<float> result;  // O and logsumexp; empty in counting-only mode
  IoStats stats;
  Trace trace;  // empty events when not recorded
  TileSizes tiles;
  WorkRecord work;  // launches, units and steps of the first head, for model/performance_model
};

struct SimBackward {
  Gradients<float> grads;  // empty in counting-only mode
  IoStats stats;           // the backward pass only (see below)
  Trace trace;
  TileSizes tiles;  // the backward's
  WorkRecord work;  // the backward pass only
};

// Q [b, h, seq_q, d], K and V [b, h, seq_k, d]; may be nullptr in counting-only mode.
// The logsumexp is derived after the run from what the algorithm left in HBM (not counted):
// from S for Standard, from l and m for Flash (FA1 Alg. 2 returns them), L for Flash2.
SimForward simulate_forward(const SimConfig& config, const Tensor<float>* Q, const Tensor<float>* K,
                            const Tensor<float>* V);

// Gradients for upstream dO [b, h, seq_q, d]. Per head, the matching forward runs first on the
// same machine to leave its outputs in HBM (Standard: S, P, P_dropped; Flash: O, l, m; Flash2:
// O, L) but is NOT counted or traced: stats and trace are the backward pass only (FA1 Alg. 3,
// FA1 Alg. 4 or FA2 Alg. 2), with peak SRAM of the backward.
SimBackward simulate_backward(const SimConfig& config, const Tensor<float>* Q,
                              const Tensor<float>* K, const Tensor<float>* V,
                              const Tensor<float>* dO);

}  // namespace flashlab::simulator
