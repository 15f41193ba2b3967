// HBM: per-head tensors and the byte counters of every tile transfer.
#include <flashlab/simulator/machine/hbm.hpp>

#include <algorithm>
#include <cassert>
#include <cstring>

namespace flashlab::simulator {

Hbm::Hbm(int element_bytes, bool store_data)
    : element_bytes_(element_bytes), store_data_(store_data) {}

void Hbm::define(TensorId t, int64_t rows, int64_t cols, float value, int element_bytes) {
  Slot& s = slot(t);
  s.defined = true;
  s.element_bytes = element_bytes;
  s.rows = rows;
  s.cols = cols;
  if (store_data_) s.data.assign(size_t(rows * cols), value);
}

void Hbm::upload(TensorId t, int64_t rows, int64_t cols, const float* data) {
  define(t, rows, cols);
  if (store_data_ && data != nullptr)
    std::memcpy(slot(t).data.data(), data, sizeof(float) * size_t(rows * cols));
}

void Hbm::read(TensorId t, const TileRect& r, float* tile) {
  const Slot& s = slot(t);
  assert(s.defined && r.row0 >= 0 && r.col0 >= 0 && r.row0 + r.rows <= s.rows &&
         r.col0 + r.cols <= s.cols);
  if (counting_) {
    TensorTraffic& c = traffic_[size_t(index(t))];
    c.bytes_read += r.elements() * element_bytes(t);
    c.reads += 1;
  }
  if (tile == nullptr || !store_data_) return;
  for (int64_t row = 0; row < r.rows; ++row)
    std::memcpy(tile + row * r.cols, s.data.data() + (r.row0 + row) * s.cols + r.col0,
                sizeof(float) * size_t(r.cols));
}

// A tile written into `rect` of `t`, counted: copied over what HBM holds, or added to it.
void Hbm::put(TensorId t, const TileRect& r, const float* tile, bool add) {
  Slot& s = slot(t);
  assert(s.defined && r.row0 >= 0 && r.col0 >= 0 && r.row0 + r.rows <= s.rows &&
         r.col0 + r.cols <= s.cols);
  if (counting_) {
    TensorTraffic& c = traffic_[size_t(index(t))];
    c.bytes_written += r.elements() * element_bytes(t);
    c.writes += 1;
  }
  if (tile == nullptr || !store_data_) return;
  for (int64_t row = 0; row < r.rows; ++row) {
    float* dst = s.data.data() + (r.row0 + row) * s.cols + r.col0;
    const float* src = tile + row * r.cols;
    if (add)
      for (int64_t col = 0; col < r.cols; ++col) dst[col] += src[col];
    else
      std::memcpy(dst, src, sizeof(float) * size_t(r.cols));
  }
}

void Hbm::write(TensorId t, const TileRect& r, const float* tile) {
  put(t, r, tile, false);
}

void Hbm::add(TensorId t, const TileRect& r, const float* tile) {
  put(t, r, tile, true);
}

void Hbm::fill(TensorId t, float value) {
  Slot& s = slot(t);
  assert(s.defined);
  if (counting_) {
    TensorTraffic& c = traffic_[size_t(index(t))];
    c.bytes_written += s.rows * s.cols * element_bytes(t);
    c.writes += 1;
  }
  if (store_data_) std::fill(s.data.begin(), s.data.end(), value);
}

}  // namespace flashlab::simulator
