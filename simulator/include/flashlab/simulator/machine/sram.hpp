// On-chip memory (SRAM / shared memory) of one SM: a capacity in bytes, and tiles that the
// algorithm allocates and frees explicitly. Going over capacity throws flashlab::Error naming the
// tile, the capacity and every resident tile. Tiles hold float data (Eigen) unless counting only.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

#include <flashlab/simulator/machine/tensor_id.hpp>
#include <flashlab/simulator/trace/trace.hpp>

namespace flashlab::simulator {

// The default SRAM size M everywhere in the simulator: the shared memory one thread block can
// have on an A100, the FA1 paper's GPU (CUDA C++ Programming Guide, compute capability 8.0:
// 163 KiB per block of 164 KiB per SM; the paper's §2.1 quotes 192 KB, L1 and shared memory
// together).
inline constexpr int64_t kDefaultSramBytes = 163 * 1024;

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// A handle to a live SRAM tile. Cheap to copy; invalid after Sram::free.
struct Tile {
  int32_t slot = -1;
  bool valid() const { return slot >= 0; }
};

struct SramTile {
  const char* name = "";             // "K_j", "S_ij", "m~_ij", ...
  TensorId tensor = TensorId::None;  // the tensor this tile is a block of (None: scratch)
  TileRect rect;                     // its position in that tensor; rows x cols elements
  int64_t bytes = 0;
  bool live = false;
  Matrix data;  // rect.rows x rect.cols; empty in counting-only mode
};

class Sram {
 public:
  Sram(int64_t capacity_bytes, int element_bytes, bool store_data);

  // Reserves rect.rows * rect.cols elements. Throws flashlab::Error if that exceeds capacity;
  // the message names the tile, the step (`context`, pseudo-code `line`) and what is resident.
  Tile alloc(const char* name, TensorId tensor, const TileRect& rect, const char* context,
             int line);
  void free(Tile tile);

  SramTile& operator[](Tile t) { return slots_[size_t(t.slot)]; }
  const SramTile& operator[](Tile t) const { return slots_[size_t(t.slot)]; }

  int64_t capacity_bytes() const { return capacity_bytes_; }
  int64_t used_bytes() const { return used_bytes_; }
  int64_t peak_bytes() const { return peak_bytes_; }
  void reset_peak() { peak_bytes_ = used_bytes_; }
  // While off, the peak is not updated (the capacity is still enforced).
  void set_counting(bool on) { counting_ = on; }
  int live_tiles() const { return live_count_; }
  // "K_j 192x64 (24576 B), V_j ..." for every live tile.
  std::string resident_summary() const;

 private:
  int64_t capacity_bytes_;
  int element_bytes_;
  bool store_data_;
  bool counting_ = true;
  int64_t used_bytes_ = 0;
  int64_t peak_bytes_ = 0;
  int live_count_ = 0;
  std::vector<SramTile> slots_;
  std::vector<int32_t> free_slots_;
};

}  // namespace flashlab::simulator
