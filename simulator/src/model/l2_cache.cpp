// LRU over whole tiles (an intrusive list in a vector, a hash map from tile key to node) and the
// replay of a work record through it.
#include <flashlab/simulator/model/l2_cache.hpp>

#include <algorithm>
#include <deque>

namespace flashlab::simulator {

L2Cache::L2Cache(int64_t capacity_bytes) : capacity_(capacity_bytes) {}

void L2Cache::unlink(int32_t n) {
  Node& x = nodes_[size_t(n)];
  (x.prev >= 0 ? nodes_[size_t(x.prev)].next : head_) = x.next;
  (x.next >= 0 ? nodes_[size_t(x.next)].prev : tail_) = x.prev;
}

void L2Cache::push_front(int32_t n) {
  Node& x = nodes_[size_t(n)];
  x.prev = -1;
  x.next = head_;
  if (head_ >= 0) nodes_[size_t(head_)].prev = n;
  head_ = n;
  if (tail_ < 0) tail_ = n;
}

void L2Cache::evict_until_fits() {
  while (used_ > capacity_ && tail_ >= 0) {
    const int32_t n = tail_;
    const Node& x = nodes_[size_t(n)];
    if (x.dirty) dram_write_ += x.bytes;
    used_ -= x.bytes;
    where_.erase(x.key);
    unlink(n);
    free_.push_back(n);
  }
}

void L2Cache::access(uint64_t key, int64_t bytes, AccessKind kind) {
  const bool write = kind != AccessKind::Read;
  const auto it = where_.find(key);
  if (it != where_.end()) {  // hit: no DRAM traffic now
    const int32_t n = it->second;
    nodes_[size_t(n)].dirty |= write;
    unlink(n);
    push_front(n);
    return;
  }
  if (bytes > capacity_) {  // larger than the whole cache: streams through
    if (kind != AccessKind::Write) dram_read_ += bytes;
    if (write) dram_write_ += bytes;
    return;
  }
  // A write allocates without reading (whole tiles); a reduction must fetch what it adds to.
  if (kind != AccessKind::Write) dram_read_ += bytes;
  int32_t n;
  if (!free_.empty()) {
    n = free_.back();
    free_.pop_back();
  } else {
    n = int32_t(nodes_.size());
    nodes_.push_back({});
  }
  nodes_[size_t(n)] = {key, bytes, write, -1, -1};
  push_front(n);
  where_.emplace(key, n);
  used_ += bytes;
  evict_until_fits();
}

void L2Cache::write_back() {
  for (int32_t n = head_; n >= 0; n = nodes_[size_t(n)].next) {
    Node& x = nodes_[size_t(n)];
    if (x.dirty) dram_write_ += x.bytes;
    x.dirty = false;
  }
}

namespace {

// A different key for every head: the record holds the first head's tiles only.
uint64_t head_key(uint64_t key, int64_t head) {
  uint64_t z = uint64_t(head) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  return key ^ z ^ (z >> 27);
}

struct Running {
  int64_t head, unit, step;  // step: index into the unit's steps
};

}  // namespace

std::vector<DramTraffic> replay_l2(const WorkRecord& work, int64_t l2_bytes,
                                   const std::vector<int64_t>& slots) {
  L2Cache cache(l2_bytes);
  std::vector<DramTraffic> out;
  for (size_t l = 0; l < work.launches.size(); ++l) {
    const Launch& launch = work.launches[l];
    const int64_t units = int64_t(launch.units.size());
    const int64_t total = units * work.heads;
    const int64_t before_read = cache.dram_read_bytes(), before_write = cache.dram_write_bytes();
    int64_t next = 0;  // next unit to start, in launch order: unit fastest, then head
    std::deque<Running> running;
    auto start_next = [&] {
      if (next >= total) return false;
      running.push_back({next / units, next % units, 0});
      ++next;
      return true;
    };
    for (int64_t s = 0; s < std::max<int64_t>(1, slots[l]); ++s)
      if (!start_next()) break;
    while (!running.empty()) {  // one round: every running unit takes one step
      for (size_t k = running.size(); k-- > 0;) {
        Running r = running.front();
        running.pop_front();
        const UnitCost& u = launch.units[size_t(r.unit)];
        if (r.step < u.steps) {
          const int64_t s = u.first_step + r.step;
          const int64_t a0 = s == 0 ? 0 : work.step_ends[size_t(s - 1)];
          for (int64_t a = a0; a < work.step_ends[size_t(s)]; ++a) {
            const TileAccess& t = work.accesses[size_t(a)];
            cache.access(head_key(t.key, r.head), t.bytes, t.kind);
          }
          ++r.step;
        }
        if (r.step < u.steps)
          running.push_back(r);
        else
          start_next();
      }
    }
    cache.write_back();
    out.push_back({cache.dram_read_bytes() - before_read, cache.dram_write_bytes() - before_write});
  }
  return out;
}

}  // namespace flashlab::simulator
