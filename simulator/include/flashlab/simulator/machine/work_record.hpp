// How an algorithm's work divides into what a GPU schedules: kernel launches, each a grid of
// work units (thread blocks) that run independently on the SMs, each unit a sequence of steps
// (one inner-loop iteration) that move tiles between HBM and SRAM. The machine records this for
// the first (batch, head) only; every head repeats it (model/performance_model.hpp replays it
// once per head). FA1 runs one unit per head; FA2 one per query block (forward) or key block
// (backward), which is its parallelism over the sequence (FA2 §3.2).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flashlab::simulator {

// What one work unit did: its arithmetic and its SRAM <-> HBM traffic, and where its steps are.
struct UnitCost {
  int64_t matmul_flops = 0;
  int64_t exp_ops = 0;
  int64_t other_flops = 0;
  int64_t random_draws = 0;   // dropout's Philox calls, one per eight elements of a row
  int64_t bytes_read = 0;     // HBM -> SRAM
  int64_t bytes_written = 0;  // SRAM -> HBM, reductions included
  int64_t bytes_reduced = 0;  // of bytes_written: added into HBM by the memory system
  int64_t first_step = 0;     // index into WorkRecord::step_ends
  int64_t steps = 0;
};

// One tile moved between HBM and SRAM. `key` names the tile (tensor and rectangle of head 0): the
// same key twice is the same bytes, which is what a cache between the SMs and HBM can reuse.
enum class AccessKind : uint8_t {
  Read,
  Write,
  Reduce  // added to what memory holds (an atomic add / bulk reduction): no read by the SM
};
struct TileAccess {
  uint64_t key = 0;
  int64_t bytes = 0;
  AccessKind kind = AccessKind::Read;
};

// One kernel launch: a grid of units in launch order (blockIdx order within one head).
struct Launch {
  std::string name;             // "FA2 forward", "S = tau Q K^T", ...
  bool kernel = true;           // false: a memset (no kernel; profilers' kernel rows omit it)
  int64_t unit_sram_bytes = 0;  // SRAM one unit holds at its peak: decides units per SM
  std::vector<UnitCost> units;
  // The kernel that runs this launch keeps its tensor cores busy while it computes the softmax
  // (a warp-specialised schedule: one warpgroup's products run under another's softmax, FA3
  // §3.1); the algorithm does not decide this, the implementation does (cli's predict_kernel).
  bool softmax_under_matmul = false;
};

struct WorkRecord {
  std::vector<Launch> launches;
  std::vector<TileAccess> accesses;  // every launch's accesses, in program order
  // Step s is accesses [step_ends[s - 1], step_ends[s]) (step 0 starts at 0).
  std::vector<int64_t> step_ends;
  int64_t heads = 1;  // batch x heads: the record repeats once per head

  int64_t unit_count() const {
    int64_t n = 0;
    for (const Launch& l : launches) n += int64_t(l.units.size());
    return n * heads;
  }
};

}  // namespace flashlab::simulator
