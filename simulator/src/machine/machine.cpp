// The machine's bookkeeping: HBM <-> SRAM transfers, allocation, skipped blocks, the trace, and
// the counters. Tile arithmetic is in tile_ops.cpp.
#include <flashlab/simulator/machine/machine.hpp>

#include <algorithm>

namespace flashlab::simulator {

Machine::Machine(const MachineConfig& config, Trace* trace, WorkRecord* work)
    : config_(config),
      trace_(trace),
      work_(work),
      hbm_(config.element_bytes, !config.counting_only),
      sram_(config.sram_bytes, config.element_bytes, !config.counting_only) {}

void Machine::begin_head(int64_t batch, int64_t head, bool record) {
  if (work_head_) finish_work();
  batch_ = batch;
  head_ = head;
  record_ = record;
  i_ = j_ = -1;
  work_head_ = work_ != nullptr && batch == 0 && head == 0;
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
  if (working()) note_sram_use();
  if (!config_.counting_only) sram_[t].data.setConstant(init);
  if (recording()) record(EventKind::Alloc, line, name, tensor, rect).bytes = sram_[t].bytes;
  return t;
}

Tile Machine::load(int line, const char* name, TensorId tensor, const TileRect& rect) {
  const Tile t = sram_.alloc(name, tensor, rect, context_, line);
  if (working()) {
    note_sram_use();
    note_access(tensor, rect, AccessKind::Read);
  }
  if (recording()) record(EventKind::Alloc, line, name, tensor, rect).bytes = sram_[t].bytes;
  hbm_.read(tensor, rect, config_.counting_only ? nullptr : sram_[t].data.data());
  if (recording())
    record(EventKind::Load, line, name, tensor, rect).bytes =
        rect.elements() * hbm_.element_bytes(tensor);
  return t;
}

void Machine::store(int line, Tile tile, TensorId tensor, const TileRect& rect) {
  const SramTile& t = sram_[tile];
  hbm_.write(tensor, rect, config_.counting_only ? nullptr : t.data.data());
  if (working()) note_access(tensor, rect, AccessKind::Write);
  if (recording()) {
    record(EventKind::Store, line, t.name, tensor, rect).bytes =
        rect.elements() * hbm_.element_bytes(tensor);
  }
}

void Machine::store_add(int line, Tile tile, TensorId tensor, const TileRect& rect) {
  const SramTile& t = sram_[tile];
  hbm_.add(tensor, rect, config_.counting_only ? nullptr : t.data.data());
  if (accounting_) reduced_bytes_ += rect.elements() * hbm_.element_bytes(tensor);
  if (working()) note_access(tensor, rect, AccessKind::Reduce);
  if (recording()) {
    record(EventKind::Store, line, t.name, tensor, rect).bytes =
        rect.elements() * hbm_.element_bytes(tensor);
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
  const TileRect all{0, hbm_.rows(tensor), 0, hbm_.cols(tensor)};
  if (working()) note_access(tensor, all, AccessKind::Write);
  if (recording()) {
    record(EventKind::Store, line, op, tensor, all).bytes =
        all.elements() * hbm_.element_bytes(tensor);
  }
}

void Machine::skip(int line, const char* op, const TileRect& s_block) {
  if (recording()) record(EventKind::Skip, line, op, TensorId::S, s_block);
}

void Machine::compute(int line, const char* op, Tile out, int64_t flops, int64_t exps,
                      bool is_matmul, int64_t draws) {
  if (!accounting_) return;
  (is_matmul ? matmul_flops_ : other_flops_) += flops;
  exp_ops_ += exps;
  random_draws_ += draws;
  if (recording()) {
    const SramTile& t = sram_[out];
    Event& e = record(EventKind::Compute, line, op, t.tensor, t.rect);
    e.flops = flops;
    e.exps = exps;
    e.draws = draws;
  }
}

// --- the work record ----------------------------------------------------------------------------

namespace {

// A tile's name for the cache model: tensor and rectangle, mixed (splitmix64's finaliser) so
// that distinct tiles practically never share a key.
uint64_t tile_key(TensorId tensor, const TileRect& r) {
  uint64_t h = uint64_t(index(tensor)) + 0x9E3779B97F4A7C15ull;
  for (const int64_t v : {r.row0, r.rows, r.col0, r.cols}) {
    h ^= uint64_t(v) + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
    h ^= h >> 31;
  }
  return h;
}

int64_t total_read(const Hbm& hbm) {
  int64_t n = 0;
  for (const TensorTraffic& t : hbm.traffic()) n += t.bytes_read;
  return n;
}
int64_t total_written(const Hbm& hbm) {
  int64_t n = 0;
  for (const TensorTraffic& t : hbm.traffic()) n += t.bytes_written;
  return n;
}

}  // namespace

void Machine::note_access(TensorId tensor, const TileRect& rect, AccessKind kind) {
  if (!unit_open_) begin_unit();  // work before the first begin_unit belongs to one unit
  work_->accesses.push_back(
      {tile_key(tensor, rect), rect.elements() * hbm_.element_bytes(tensor), kind});
}

void Machine::note_sram_use() {
  if (work_->launches.empty()) begin_launch(context_);
  Launch& l = work_->launches.back();
  l.unit_sram_bytes = std::max(l.unit_sram_bytes, sram_.used_bytes());
}

void Machine::end_step() {
  const int64_t n = int64_t(work_->accesses.size());
  if (work_->step_ends.empty() ? n > 0 : work_->step_ends.back() < n) work_->step_ends.push_back(n);
}

void Machine::close_unit() {
  if (!unit_open_) return;
  end_step();
  UnitCost& u = work_->launches.back().units.back();
  u.matmul_flops = matmul_flops_ - unit_start_.matmul_flops;
  u.exp_ops = exp_ops_ - unit_start_.exp_ops;
  u.other_flops = other_flops_ - unit_start_.other_flops;
  u.random_draws = random_draws_ - unit_start_.random_draws;
  u.bytes_read = total_read(hbm_) - unit_start_.bytes_read;
  u.bytes_written = total_written(hbm_) - unit_start_.bytes_written;
  u.bytes_reduced = reduced_bytes_ - unit_start_.bytes_reduced;
  u.steps = int64_t(work_->step_ends.size()) - u.first_step;
  unit_open_ = false;
}

void Machine::begin_launch(const char* name, bool kernel) {
  if (!working()) return;
  close_unit();
  work_->launches.push_back({name, kernel, 0, {}, false});
}

void Machine::begin_unit() {
  if (!working()) return;
  if (work_->launches.empty()) begin_launch(context_);
  close_unit();
  unit_start_ = {matmul_flops_,
                 exp_ops_,
                 other_flops_,
                 random_draws_,
                 total_read(hbm_),
                 total_written(hbm_),
                 reduced_bytes_,
                 int64_t(work_->step_ends.size()),
                 0};
  work_->launches.back().units.push_back(unit_start_);
  unit_open_ = true;
}

void Machine::finish_work() {
  if (work_ == nullptr || !work_head_) return;
  close_unit();
  work_head_ = false;
}

IoStats Machine::stats() const {
  IoStats s;
  s.tensors = hbm_.traffic();
  s.matmul_flops = matmul_flops_;
  s.exp_ops = exp_ops_;
  s.other_flops = other_flops_;
  s.random_draws = random_draws_;
  s.peak_sram_bytes = sram_.peak_bytes();
  s.element_bytes = config_.element_bytes;
  return s;
}

}  // namespace flashlab::simulator
