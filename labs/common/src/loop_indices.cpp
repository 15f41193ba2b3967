// fill_loop_indices: the loop step (i, j) of every event of a trace, from the tiles it touches.
// The simulator's algorithms say it with Machine::at; a student's code need not, so the step is
// read off the tiles instead: a tile of a Q-shaped tensor (Q, O, l, m, ...) is in row block i,
// one of a K-shaped tensor (K, V, dK, dV) in block j, a block of S in both. A new block of the
// outer loop's tensors starts an outer iteration (the inner index is then -1, "outside the inner
// loop"); an inner iteration ends when every tile it allocated is freed, or with its Skip.
// tests/labs checks that this reproduces the simulator's own indices event for event.
#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <flashlab/labs/lab_trace.hpp>

namespace flashlab::labs {

namespace {

using simulator::Event;
using simulator::EventKind;
using simulator::TensorId;
using simulator::TileRect;

enum class Family { Query, Key, Scores, Other };

Family family_of(TensorId t) {
  switch (t) {
    case TensorId::Q:
    case TensorId::O:
    case TensorId::l:
    case TensorId::m:
    case TensorId::L:
    case TensorId::D:
    case TensorId::dO:
    case TensorId::dQ:
    case TensorId::dQ_acc:
      return Family::Query;
    case TensorId::K:
    case TensorId::V:
    case TensorId::dK:
    case TensorId::dV:
      return Family::Key;
    case TensorId::S:
    case TensorId::P:
    case TensorId::P_dropped:
    case TensorId::dS:
    case TensorId::dP:
      return Family::Scores;
    case TensorId::Z:
    case TensorId::None:
      break;
  }
  return Family::Other;
}

// The block of `size` rows that holds rows [first, first + count), or -1 when they span several
// (a whole tensor being initialised, a tile of the wrong size).
int64_t block_of(int64_t first, int64_t count, int64_t size) {
  if (count <= 0 || first < 0) return -1;
  const int64_t b = first / size;
  return (first + count - 1) / size == b ? b : -1;
}

}  // namespace

void fill_loop_indices(simulator::Trace& trace) {
  const int64_t Br = std::max<int64_t>(1, trace.tiles.block_rows);
  const int64_t Bc = std::max<int64_t>(1, trace.tiles.block_cols);
  const bool i_outer = trace.algorithm == simulator::Algorithm::Flash2;  // FA2 Alg. 1 l. 3
  int64_t i = -1, j = -1;
  int64_t& outer = i_outer ? i : j;
  int64_t& inner = i_outer ? j : i;
  const Family outer_family = i_outer ? Family::Query : Family::Key;

  // Live tiles (freed by name, tensor and rectangle, the last of equals first), and whether each
  // was allocated inside an inner iteration.
  using Key = std::tuple<std::string, TensorId, int64_t, int64_t, int64_t, int64_t>;
  std::map<Key, std::vector<bool>> live;
  int64_t inner_live = 0;

  for (Event& e : trace.events) {
    if (e.kind == EventKind::Alloc || e.kind == EventKind::Skip) {
      const TileRect& r = e.rect;
      const Family f = e.kind == EventKind::Skip ? Family::Scores : family_of(e.tensor);
      if (f == Family::Scores) {
        const int64_t bi = block_of(r.row0, r.rows, Br), bj = block_of(r.col0, r.cols, Bc);
        if (bi >= 0 && bj >= 0) i = bi, j = bj;
      } else if (f == Family::Query || f == Family::Key) {
        const int64_t b = block_of(r.row0, r.rows, f == Family::Query ? Br : Bc);
        if (b >= 0 && f == outer_family && b != outer)
          outer = b, inner = -1;
        else if (b >= 0 && f != outer_family)
          inner = b;
      }
    }
    e.i = i;
    e.j = j;
    const Key key{e.op ? e.op : "", e.tensor, e.rect.row0, e.rect.rows, e.rect.col0, e.rect.cols};
    if (e.kind == EventKind::Alloc) {
      live[key].push_back(inner >= 0);
      inner_live += inner >= 0;
    } else if (e.kind == EventKind::Free) {
      auto it = live.find(key);
      if (it != live.end() && !it->second.empty()) {
        inner_live -= it->second.back();
        it->second.pop_back();
      }
      if (inner_live == 0) inner = -1;
    } else if (e.kind == EventKind::Skip) {
      inner = -1;  // a skipped block is a whole inner iteration in one step
    }
  }
}

}  // namespace flashlab::labs
