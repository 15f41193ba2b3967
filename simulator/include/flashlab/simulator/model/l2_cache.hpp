// The L2 between the SMs and DRAM: an LRU cache of whole tiles with the L2's capacity, fed with
// the tile loads and stores of the work units that run at the same time, interleaved step by
// step as the SMs run them. What it misses is read from DRAM; what is written reaches DRAM once,
// when the launch ends. This is why K and V, re-read by every query block of a head in the FA2
// order, cost DRAM traffic only once: the blocks re-reading them run side by side.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include <flashlab/simulator/machine/work_record.hpp>

namespace flashlab::simulator {

class L2Cache {
 public:
  explicit L2Cache(int64_t capacity_bytes);
  // One tile access; counts the DRAM bytes it causes.
  void access(uint64_t key, int64_t bytes, AccessKind kind);
  // Writes every dirty tile back (the end of a launch): counts them as DRAM writes.
  void write_back();
  int64_t dram_read_bytes() const { return dram_read_; }
  int64_t dram_write_bytes() const { return dram_write_; }

 private:
  struct Node {
    uint64_t key;
    int64_t bytes;
    bool dirty;
    int32_t prev, next;
  };
  void unlink(int32_t n);
  void push_front(int32_t n);
  void evict_until_fits();

  int64_t capacity_, used_ = 0;
  int64_t dram_read_ = 0, dram_write_ = 0;
  std::vector<Node> nodes_;
  std::vector<int32_t> free_;
  int32_t head_ = -1, tail_ = -1;  // most and least recently used
  std::unordered_map<uint64_t, int32_t> where_;
};

// DRAM bytes of each launch of `work` (in order), its units scheduled `slots[l]` at a time in
// launch order (unit index fastest, then head), each running unit advancing one step per round.
struct DramTraffic {
  int64_t read_bytes = 0;
  int64_t write_bytes = 0;
};
std::vector<DramTraffic> replay_l2(const WorkRecord& work, int64_t l2_bytes,
                                   const std::vector<int64_t>& slots);

}  // namespace flashlab::simulator
