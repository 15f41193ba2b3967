// The machine's bookkeeping: HBM <-> SRAM transfers, allocation, skipped blocks, the trace, and
// the counters. Tile arithmetic is in tile_ops.cpp.
#include <flashlab/simulator/machine/machine.hpp>

namespace flashlab::simulator {

Machine::Machine(const MachineConfig& config, Trace* trace)
    : config_(config),
      trace_(trace),
      hbm_(config.element_bytes, !config.counting_only),
      sram_(config.sram_bytes, config.element_bytes, !config.counting_only) {}

void Machine::begin_head(int64_t batch, int64_t head, bool record) {
  batch_ = batch;
  head_ = head;
  record_ = record;
  i_ = j_ = -1;
}

void Machine::set_accounting(bool on) {
  accounting_ = on;
  hbm_.set_counting(on);
  sram_.set_counting(on);
}

Event& Machine::record(EventKind kind, int line, const char* op, TensorId tensor,
                       const TileRect& rect) {
  Event& e = trace_->events.emplace_back();
  e.kind = kind;
  e.line = line;
  e.batch = batch_;
  e.head = head_;
  e.tensor = tensor;
  e.rect = rect;
  e.op = op;
  e.i = i_;
  e.j = j_;
  e.sram_used_bytes = sram_.used_bytes();
  return e;
}

Tile Machine::alloc(int line, const char* name, TensorId tensor, const TileRect& rect, float init) {
  const Tile t = sram_.alloc(name, tensor, rect, context_, line);
  if (!config_.counting_only) sram_[t].data.setConstant(init);
  if (recording()) record(EventKind::Alloc, line, name, tensor, rect).bytes = sram_[t].bytes;
  return t;
}

Tile Machine::load(int line, const char* name, TensorId tensor, const TileRect& rect) {
  const Tile t = sram_.alloc(name, tensor, rect, context_, line);
  if (recording()) record(EventKind::Alloc, line, name, tensor, rect).bytes = sram_[t].bytes;
  hbm_.read(tensor, rect, config_.counting_only ? nullptr : sram_[t].data.data());
  if (recording()) record(EventKind::Load, line, name, tensor, rect).bytes = sram_[t].bytes;
  return t;
}

void Machine::store(int line, Tile tile, TensorId tensor, const TileRect& rect) {
  const SramTile& t = sram_[tile];
  hbm_.write(tensor, rect, config_.counting_only ? nullptr : t.data.data());
  if (recording()) {
    record(EventKind::Store, line, t.name, tensor, rect).bytes =
        rect.elements() * config_.element_bytes;
  }
}

void Machine::free(int line, Tile tile) {
  const SramTile& t = sram_[tile];
  const char* name = t.name;
  const TensorId tensor = t.tensor;
  const TileRect rect = t.rect;
  const int64_t bytes = t.bytes;
  sram_.free(tile);
  if (recording()) record(EventKind::Free, line, name, tensor, rect).bytes = bytes;
}

void Machine::hbm_fill(int line, const char* op, TensorId tensor, float value) {
  hbm_.fill(tensor, value);
  if (recording()) {
    const TileRect all{0, hbm_.rows(tensor), 0, hbm_.cols(tensor)};
    record(EventKind::Store, line, op, tensor, all).bytes = all.elements() * config_.element_bytes;
  }
}

void Machine::skip(int line, const char* op, const TileRect& s_block) {
  if (recording()) record(EventKind::Skip, line, op, TensorId::S, s_block);
}

void Machine::compute(int line, const char* op, Tile out, int64_t flops, int64_t exps,
                      bool is_matmul) {
  if (!accounting_) return;
  (is_matmul ? matmul_flops_ : other_flops_) += flops;
  exp_ops_ += exps;
  if (recording()) {
    const SramTile& t = sram_[out];
    Event& e = record(EventKind::Compute, line, op, t.tensor, t.rect);
    e.flops = flops;
    e.exps = exps;
  }
}

IoStats Machine::stats() const {
  IoStats s;
  s.tensors = hbm_.traffic();
  s.matmul_flops = matmul_flops_;
  s.exp_ops = exp_ops_;
  s.other_flops = other_flops_;
  s.peak_sram_bytes = sram_.peak_bytes();
  s.element_bytes = config_.element_bytes;
  return s;
}

}  // namespace flashlab::simulator
