// What the machine counted during one run: HBM bytes per tensor and direction, tile transfers,
// FLOPs (matmul and the rest separately), exp evaluations and the peak SRAM in use.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <flashlab/simulator/machine/tensor_id.hpp>

namespace flashlab::simulator {

// Traffic of one HBM tensor. `reads`/`writes` count tile transfers (one Load or Store each).
struct TensorTraffic {
  int64_t bytes_read = 0;
  int64_t bytes_written = 0;
  int64_t reads = 0;
  int64_t writes = 0;
};

struct IoStats {
  std::array<TensorTraffic, kTensorCount> tensors{};  // indexed by index(TensorId)
  int64_t matmul_flops = 0;                           // 2*m*n*k per tile product (tensor-core work)
  int64_t exp_ops = 0;      // exp evaluations (special-function unit work)
  int64_t other_flops = 0;  // every other arithmetic op on tiles: max, add, scale, divide, log
  // Philox calls that draw dropout's keep decisions, one per eight neighbouring elements of a row
  // (core/dropout.hpp): integer work the model prices at its own measured rate
  int64_t random_draws = 0;
  int64_t peak_sram_bytes = 0;
  int element_bytes = 2;  // bytes per element used for every count above

  const TensorTraffic& operator[](TensorId t) const { return tensors[size_t(index(t))]; }
  TensorTraffic& operator[](TensorId t) { return tensors[size_t(index(t))]; }

  int64_t bytes_read() const;
  int64_t bytes_written() const;
  int64_t total_bytes() const { return bytes_read() + bytes_written(); }
  // HBM accesses in elements, the unit of Theorem 2: total_bytes / element_bytes.
  int64_t total_elements() const { return total_bytes() / element_bytes; }
};

// Adds b's counters into a (peak SRAM: the max of both).
void accumulate(IoStats& a, const IoStats& b);

// A fixed-width table: one line per tensor with traffic, then totals, FLOPs and peak SRAM.
std::string format_table(const IoStats& stats);

}  // namespace flashlab::simulator
