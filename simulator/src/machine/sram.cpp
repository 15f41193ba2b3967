// SRAM: explicit tile allocation against a capacity, with a message naming every resident tile
// when the capacity would be exceeded.
#include <flashlab/simulator/machine/sram.hpp>

#include <cassert>

#include <flashlab/core/error.hpp>

namespace flashlab::simulator {

Sram::Sram(int64_t capacity_bytes, int element_bytes, bool store_data)
    : capacity_bytes_(capacity_bytes), element_bytes_(element_bytes), store_data_(store_data) {}

Tile Sram::alloc(const char* name, TensorId tensor, const TileRect& rect, const char* context,
                 int line) {
  const int64_t bytes = rect.elements() * element_bytes_;
  if (used_bytes_ + bytes > capacity_bytes_) {
    throw Error(std::string(context) + ", line " + std::to_string(line) +
                ": SRAM over capacity allocating " + name + " (" + std::to_string(rect.rows) + "x" +
                std::to_string(rect.cols) + ", " + std::to_string(bytes) + " bytes) with " +
                std::to_string(used_bytes_) + " of " + std::to_string(capacity_bytes_) +
                " bytes in use; resident: " + resident_summary());
  }
  int32_t id;
  if (!free_slots_.empty()) {
    id = free_slots_.back();
    free_slots_.pop_back();
  } else {
    id = int32_t(slots_.size());
    slots_.emplace_back();
  }
  SramTile& t = slots_[size_t(id)];
  t.name = name;
  t.tensor = tensor;
  t.rect = rect;
  t.bytes = bytes;
  t.live = true;
  if (store_data_) t.data.resize(rect.rows, rect.cols);
  used_bytes_ += bytes;
  ++live_count_;
  if (counting_ && used_bytes_ > peak_bytes_) peak_bytes_ = used_bytes_;
  return Tile{id};
}

void Sram::free(Tile tile) {
  assert(tile.valid() && slots_[size_t(tile.slot)].live);
  SramTile& t = slots_[size_t(tile.slot)];
  t.live = false;
  used_bytes_ -= t.bytes;
  --live_count_;
  free_slots_.push_back(tile.slot);
}

std::string Sram::resident_summary() const {
  std::string s;
  for (const SramTile& t : slots_) {
    if (!t.live) continue;
    if (!s.empty()) s += ", ";
    s += std::string(t.name) + " " + std::to_string(t.rect.rows) + "x" +
         std::to_string(t.rect.cols) + " (" + std::to_string(t.bytes) + " B)";
  }
  return s.empty() ? "nothing" : s;
}

}  // namespace flashlab::simulator
