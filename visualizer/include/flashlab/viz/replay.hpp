// The replay of a session's trace: the current step and everything that accumulates up to it
// (transfers per tile, bytes per tensor, FLOPs, the SRAM-resident tiles, pseudo-code line hits).
// Stepping applies or un-applies one event (O(1) amortized: an event touches a few cells);
// seeking moves step by step from wherever is closer (the current step or the start), so a
// scrub costs at most O(events between).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <flashlab/simulator/machine/io_stats.hpp>
#include <flashlab/viz/session.hpp>

namespace flashlab::viz {

// What one event does to the HBM view.
enum class EffectKind : uint8_t { None, Read, Write, Compute, Skip };

struct EventEffect {
  EffectKind kind = EffectKind::None;
  int grid = -1;  // index into Session::grids
  CellRange cells;
};

// Load: Read on its tensor's grid; Store: Write; Alloc of an S block on FlashAttention's on-chip
// S grid: Compute (the block is being worked on); Skip: the block of S it skips.
EventEffect effect_of(const Session& session, const simulator::Event& event);

struct ReplayState {
  const Session* session = nullptr;
  int64_t step = 0;  // events [0, step) are applied; the current event is step - 1

  std::vector<std::vector<int32_t>> reads;   // per grid, per cell: loads so far
  std::vector<std::vector<int32_t>> writes;  // per grid, per cell: stores (or on-chip visits)
  std::array<simulator::TensorTraffic, simulator::kTensorCount> traffic{};
  int64_t flops = 0;  // Compute/SoftmaxUpdate flops so far (matmul and other together)
  int64_t exps = 0;
  int64_t draws = 0;               // dropout's Philox calls so far
  std::vector<int64_t> resident;   // Alloc event of each tile now in SRAM, in alloc order
  std::vector<int64_t> line_hits;  // per pseudo-code line (index line - 1): events so far
};

ReplayState make_replay(const Session& session);

int64_t step_count(const ReplayState& state);  // number of events; steps run 0..step_count
void step_forward(ReplayState& state);         // no-op at the end
void step_back(ReplayState& state);            // no-op at 0
void seek(ReplayState& state, int64_t step);   // clamped to [0, step_count]

// The current event (events[step - 1]), or nullptr at step 0.
const simulator::Event* current_event(const ReplayState& state);

// The query row the online-softmax panel follows at the current step: the first row of the block
// the step is in (Session::follow_rows), also on free events, after the last block and before the
// first, in every pass.
int64_t followed_row(const ReplayState& state);

// Timeline jumps: the step (event index + 1) of the next / previous event of a kind after /
// before the current step; the current step when there is none. WriteOutput: a write of the
// pass's results (O forward, dK and dV backward; output_write_label names them).
enum class JumpTarget : uint8_t { Rescale, WriteOutput, Block };
int64_t next_step(const ReplayState& state, JumpTarget target);
int64_t previous_step(const ReplayState& state, JumpTarget target);

}  // namespace flashlab::viz
