// The simulated GPU an algorithm runs on: HBM + one SM's SRAM + the tile operations. The
// algorithm only says what it does ("load Q_i", "S_ij = tau Q_i K_j^T"); the machine counts
// bytes and FLOPs, checks the SRAM capacity and appends the trace (Timeloop's separation of
// architecture, mapping and counting). Every call carries the pseudo-code line it implements.
#pragma once

#include <cstdint>
#include <string>

#include <flashlab/core/options.hpp>
#include <flashlab/simulator/machine/hbm.hpp>
#include <flashlab/simulator/machine/io_stats.hpp>
#include <flashlab/simulator/machine/sram.hpp>
#include <flashlab/simulator/machine/work_record.hpp>
#include <flashlab/simulator/trace/trace.hpp>

namespace flashlab::simulator {

struct MachineConfig {
  int64_t sram_bytes = kDefaultSramBytes;
  int element_bytes = 2;       // bytes per element in HBM and SRAM (2 = fp16); arithmetic is float
  bool counting_only = false;  // count and check capacity, skip all arithmetic
  AttentionParams params;      // the mask and dropout that apply_mask / apply_dropout use
};

struct MatmulArgs {
  bool transpose_a = false;
  bool transpose_b = false;
  float alpha = 1.0f;
  bool accumulate = false;  // C += alpha op(A) op(B) instead of C = alpha op(A) op(B)
};

class Machine {
 public:
  // `trace` may be nullptr (no trace). The machine appends events to it while recording is on.
  // `work` may be nullptr; otherwise the machine records into it how the first (batch, head)
  // divides into launches, units and steps (work_record.hpp), for the performance model.
  Machine(const MachineConfig& config, Trace* trace, WorkRecord* work = nullptr);

  Hbm& hbm() { return hbm_; }
  const Hbm& hbm() const { return hbm_; }
  const Sram& sram() const { return sram_; }
  const AttentionParams& params() const { return config_.params; }
  bool counting_only() const { return config_.counting_only; }

  // --- context recorded on every event -------------------------------------------------------
  // Starts problem (batch, head); `record` turns the trace on for it.
  void begin_head(int64_t batch, int64_t head, bool record);
  // The loop indices (Q block i, K/V block j) of the next events; -1 for "not in that loop".
  // Each call also starts a new step of the current work unit.
  void at(int64_t i, int64_t j) {
    i_ = i;
    j_ = j;
    if (working()) end_step();
  }
  // --- how the work maps onto a GPU (work_record.hpp) -----------------------------------------
  // A new kernel launch: the units that follow form its grid.
  // `kernel` false: a memset, which kernel profilers do not list (its time and bytes still count).
  void begin_launch(const char* name, bool kernel = true);
  // A new work unit (thread block) of the current launch.
  void begin_unit();
  // Closes the last unit; call once after the last head.
  void finish_work();
  // Off: nothing is counted or traced (used to run the forward whose outputs a backward needs).
  void set_accounting(bool on);
  // Names the algorithm in capacity errors ("FlashAttention forward").
  void set_context(const char* algorithm_name) { context_ = algorithm_name; }

  // --- HBM <-> SRAM ------------------------------------------------------------------------------
  // Allocates an SRAM tile for `rect` of `tensor` and fills it with `init` (on-chip
  // initialization, e.g. "O_i = (0)", "m_i = (-inf)").
  Tile alloc(int line, const char* name, TensorId tensor, const TileRect& rect, float init = 0.f);
  // Allocates a tile and reads `rect` of `tensor` from HBM into it ("Load Q_i to SRAM").
  Tile load(int line, const char* name, TensorId tensor, const TileRect& rect);
  // Writes the tile into `rect` of `tensor` in HBM ("Write O_i to HBM").
  void store(int line, Tile tile, TensorId tensor, const TileRect& rect);
  // Adds the tile into `rect` of `tensor` in HBM, done by the memory system (an atomic add or
  // bulk reduction): counted as a write of the tensor's element size, no read by the SM.
  void store_add(int line, Tile tile, TensorId tensor, const TileRect& rect);
  void free(int line, Tile tile);
  // Writes `value` over all of `tensor` in HBM ("Initialize O = (0) in HBM"), counted.
  void hbm_fill(int line, const char* op, TensorId tensor, float value);
  // Records that block `s_block` of S is skipped (FA1 Alg. 5: M_ij = 0, or fully causal-masked).
  void skip(int line, const char* op, const TileRect& s_block);

  // --- arithmetic on SRAM tiles (skipped in counting-only mode; always counted) -----------------
  // C = alpha op(A) op(B) (+ C). 2*m*n*k matmul FLOPs.
  void matmul(int line, const char* op, Tile C, Tile A, Tile B, MatmulArgs args = {});
  // S(r, c) = -inf where the mask forbids (row0 + r, col0 + c); S's rect is its place in S.
  void apply_mask(int line, const char* op, Tile S);
  // dst = src o Z: Z = 1/(1-p) where Philox keeps the element, else 0 (dst may be src). `mask`
  // says whether this op draws Z (one Philox call per eight elements of a row, counted) or reuses
  // the Z the same unit drew for this tile: FA1 Alg. 4 l. 14 draws it,
  // FA1 Alg. 4 l. 18 uses it again.
  enum class DropoutMask { Draw, Reuse };
  void apply_dropout(int line, const char* op, Tile dst, Tile src, DropoutMask mask);
  // FA1 Alg. 2 l. 12: m~ = rowmax(S), P~ = exp(S - m~), l~ = rowsum(P~). P may be S.
  void row_max_exp_sum(int line, const char* op, Tile P, Tile S, Tile m_tilde, Tile l_tilde);
  // FA1 Alg. 2 l. 13 with core's merge(): m_new = max(m, m~), l_new = e^{m-m_new} l +
  // e^{m~-m_new} l~. Optionally also alpha = e^{m-m_new}, beta = e^{m~-m_new} (for
  // FA1 Alg. 2 l. 15).
  // Outputs may alias inputs. Records a SoftmaxUpdate event with every row's before/after.
  struct SoftmaxUpdate {
    Tile m, l, m_tilde, l_tilde, m_new, l_new, alpha, beta;  // alpha, beta may be invalid
  };
  void softmax_update(int line, const char* op, const SoftmaxUpdate& tiles);
  // FA2 Alg. 1 l. 9: m_new = max(m, rowmax S), P~ = exp(S - m_new), rescale = e^{m-m_new},
  // l = rescale l + rowsum(P~), m = m_new, in place. Records a SoftmaxUpdate event.
  void online_softmax(int line, const char* op, Tile P, Tile S, Tile m, Tile l, Tile rescale);
  // FA4's conditional rescale of FA2 Alg. 1 l. 9: if every row of S has a finite m and no score
  // more than kKeptMaxSlackLog2 (base 2) above it, P~ = exp(S - m) and l += rowsum(P~) with m
  // kept, rescale = 1, so that O needs none (records a SoftmaxUpdate event), and returns true;
  // else changes nothing but counts the test and returns false, and the caller runs
  // online_softmax. In counting-only mode, with no scores to test, every call is taken as kept
  // (what inputs whose scores never rise that far above a row block's first give).
  bool online_softmax_kept_max(int line, const char* op, Tile P, Tile S, Tile m, Tile l,
                               Tile rescale);
  // P = exp(S - m) row-wise; a row with m = -inf (all masked) gives 0. P may be S.
  void exp_minus_rows(int line, const char* op, Tile P, Tile S, Tile m);
  // X = diag(v) X.
  void scale_rows(int line, const char* op, Tile X, Tile v);
  // X = diag(v)^-1 X; a row with v = 0 (no unmasked score) becomes 0 instead of NaN.
  void divide_rows(int line, const char* op, Tile X, Tile v);
  // D = rowsum(A o B) (D += ... when accumulate).
  void row_dot(int line, const char* op, Tile D, Tile A, Tile B, bool accumulate = false);
  // FA1 Alg. 4 l. 20: dS = P o (dP - D). dS may alias dP.
  void softmax_grad(int line, const char* op, Tile dS, Tile P, Tile dP, Tile D);
  // FA2 Alg. 1 l. 13 with core's logsumexp(): L = m + log l (-inf for an all-masked row).
  void logsumexp(int line, const char* op, Tile L, Tile m, Tile l);

  // Counters so far (HBM traffic, FLOPs, exps, peak SRAM).
  IoStats stats() const;
  // Element access for tests and tools (non-counting mode only).
  const Matrix& tile_data(Tile t) const { return sram_[t].data; }

 private:
  bool recording() const { return trace_ != nullptr && record_ && accounting_; }
  bool working() const { return work_ != nullptr && work_head_ && accounting_; }
  void note_access(TensorId tensor, const TileRect& rect, AccessKind kind);
  void note_sram_use();
  void end_step();
  void close_unit();
  Event& record(EventKind kind, int line, const char* op, TensorId tensor, const TileRect& rect);
  // Counts one arithmetic step and records it as a Compute event on tile `out`; `draws` are
  // dropout's Philox calls of the step.
  void compute(int line, const char* op, Tile out, int64_t flops, int64_t exps, bool is_matmul,
               int64_t draws = 0);
  // The rows of FA2 Alg. 1 l. 9 for online_softmax (keep_m false) and online_softmax_kept_max
  // (true: m stays, so rescale is 1); nothing in counting-only mode.
  void online_softmax_rows(Tile P, Tile S, Tile m, Tile l, Tile rescale, bool keep_m);
  // Counts a softmax step; its event points at the softmax rows appended since `first_row`.
  void record_softmax(int line, const char* op, Tile m, int64_t flops, int64_t exps,
                      int64_t first_row);

  MachineConfig config_;
  Trace* trace_;
  WorkRecord* work_;
  bool work_head_ = false;  // this head's work is recorded (the first one only)
  bool unit_open_ = false;
  UnitCost unit_start_;  // the counters when the open unit began
  Hbm hbm_;
  Sram sram_;
  bool record_ = false;
  bool accounting_ = true;
  const char* context_ = "simulation";
  int64_t batch_ = 0, head_ = 0, i_ = -1, j_ = -1;
  int64_t matmul_flops_ = 0, exp_ops_ = 0, other_flops_ = 0, random_draws_ = 0;
  int64_t reduced_bytes_ = 0;  // of the bytes written, those added by store_add
};

}  // namespace flashlab::simulator
