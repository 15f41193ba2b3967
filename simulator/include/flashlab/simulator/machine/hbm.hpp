// Off-chip memory (HBM) of the simulated GPU: the tensors of one (batch, head) problem, each a
// row-major rows x cols matrix, with every tile read or written counted in bytes per tensor and
// direction. In counting-only mode only the shapes are kept.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include <flashlab/simulator/machine/io_stats.hpp>
#include <flashlab/simulator/machine/tensor_id.hpp>
#include <flashlab/simulator/trace/trace.hpp>

namespace flashlab::simulator {

class Hbm {
 public:
  Hbm(int element_bytes, bool store_data);

  // Declares `t` as a rows x cols matrix filled with `value` (not counted: this is the state
  // before the algorithm starts, the "Require: ... in HBM" of the pseudo-code). `element_bytes`
  // > 0 stores it at another precision than the machine's (FA2's fp32 dQ accumulator).
  void define(TensorId t, int64_t rows, int64_t cols, float value = 0.0f, int element_bytes = 0);
  // Declares `t` and copies rows*cols row-major values into it (not counted, as define).
  void upload(TensorId t, int64_t rows, int64_t cols, const float* data);

  bool defined(TensorId t) const { return slot(t).defined; }
  int64_t rows(TensorId t) const { return slot(t).rows; }
  int64_t cols(TensorId t) const { return slot(t).cols; }
  // Contents (empty in counting-only mode).
  std::span<const float> data(TensorId t) const { return slot(t).data; }

  // Counted transfers. `tile` is rect.rows x rect.cols row-major, or nullptr in counting mode.
  void read(TensorId t, const TileRect& rect, float* tile);
  void write(TensorId t, const TileRect& rect, const float* tile);
  // Counted like a write; the tile is added to what HBM holds (a reduction done by the memory
  // system, as FA2's atomic adds into dQ are: no read by the SM).
  void add(TensorId t, const TileRect& rect, const float* tile);
  // Counted write of `value` over the whole tensor ("Initialize O = (0) in HBM").
  void fill(TensorId t, float value);

  // While off, transfers move data but are not counted (see Machine::set_accounting).
  void set_counting(bool on) { counting_ = on; }
  const TensorTraffic& traffic(TensorId t) const { return traffic_[size_t(index(t))]; }
  const std::array<TensorTraffic, kTensorCount>& traffic() const { return traffic_; }
  int element_bytes() const { return element_bytes_; }
  int element_bytes(TensorId t) const {
    return slot(t).element_bytes > 0 ? slot(t).element_bytes : element_bytes_;
  }

 private:
  struct Slot {
    bool defined = false;
    int64_t rows = 0, cols = 0;
    int element_bytes = 0;  // 0: the machine's
    std::vector<float> data;
  };
  const Slot& slot(TensorId t) const { return slots_[size_t(index(t))]; }
  void put(TensorId t, const TileRect& rect, const float* tile, bool add);
  Slot& slot(TensorId t) { return slots_[size_t(index(t))]; }

  int element_bytes_;
  bool store_data_;
  bool counting_ = true;
  std::array<Slot, kTensorCount> slots_;
  std::array<TensorTraffic, kTensorCount> traffic_{};
};

}  // namespace flashlab::simulator
