// compare_traces: loop steps of two runs, aligned by a longest common subsequence of their (i, j)
// sequences, and per aligned step the loads, stores, skipped and computed blocks of S that one
// run has and the other has not (compare.hpp).
#include <flashlab/viz/compare.hpp>

#include <algorithm>
#include <utility>

#include <flashlab/core/error.hpp>
#include <flashlab/viz/config.hpp>

namespace flashlab::viz {

using simulator::Event;
using simulator::EventKind;
using simulator::TensorId;
using simulator::TileRect;
using simulator::Trace;

namespace {

bool is_scores(TensorId t) {
  return t == TensorId::S || t == TensorId::P || t == TensorId::P_dropped || t == TensorId::dS ||
         t == TensorId::dP;
}

// What a step is compared on: its HBM transfers, its skipped blocks and the blocks of S it
// computes (once per block, whatever the tensor is called on chip). Tile names, line numbers and
// on-chip allocations are each run's own business.
enum class ItemKind : uint8_t { Load, Store, Skip, Compute };

struct Item {
  ItemKind kind = ItemKind::Load;
  TensorId tensor = TensorId::None;
  TileRect rect;
  int64_t bytes = 0;
  int64_t event = 0;
  bool used = false;
};

bool same_rect(const TileRect& a, const TileRect& b) {
  return a.row0 == b.row0 && a.rows == b.rows && a.col0 == b.col0 && a.cols == b.cols;
}

bool is_transfer(const Item& x) {
  return x.kind == ItemKind::Load || x.kind == ItemKind::Store;
}

bool same(const Item& a, const Item& b) {
  if (a.kind != b.kind || !same_rect(a.rect, b.rect)) return false;
  return !is_transfer(a) || (a.tensor == b.tensor && a.bytes == b.bytes);
}

std::vector<Item> items_of(const Trace& t, const LoopStep& s) {
  std::vector<Item> items;
  for (int64_t k = s.first; k < s.end; ++k) {
    const Event& e = t.events[size_t(k)];
    if (e.kind == EventKind::Load || e.kind == EventKind::Store) {
      items.push_back({e.kind == EventKind::Load ? ItemKind::Load : ItemKind::Store, e.tensor,
                       e.rect, e.bytes, k});
    } else if (e.kind == EventKind::Skip) {
      items.push_back({ItemKind::Skip, TensorId::S, e.rect, 0, k});
    } else if ((e.kind == EventKind::Alloc || e.kind == EventKind::Compute) &&
               is_scores(e.tensor)) {
      const bool seen = std::any_of(items.begin(), items.end(), [&](const Item& x) {
        return x.kind == ItemKind::Compute && same_rect(x.rect, e.rect);
      });
      if (!seen) items.push_back({ItemKind::Compute, TensorId::S, e.rect, 0, k});
    }
  }
  return items;
}

std::string range(int64_t first, int64_t count) {
  return std::to_string(first) + ".." + std::to_string(first + count - 1);
}

std::string tile_text(TensorId t, const TileRect& r) {
  if (is_scores(t)) return "block S[" + range(r.row0, r.rows) + ", " + range(r.col0, r.cols) + "]";
  return std::string(simulator::tensor_name(t)) + " rows " + range(r.row0, r.rows);
}

// "loads K rows 0..15 (512 B)", "skips block S[0..31, 32..47]".
std::string item_text(const Item& x) {
  switch (x.kind) {
    case ItemKind::Load:
      return "loads " + tile_text(x.tensor, x.rect) + " (" + format_bytes(x.bytes) + ")";
    case ItemKind::Store:
      return "writes " + tile_text(x.tensor, x.rect) + " (" + format_bytes(x.bytes) + ")";
    case ItemKind::Skip:
      return "skips " + tile_text(TensorId::S, x.rect);
    case ItemKind::Compute:
      return "computes " + tile_text(TensorId::S, x.rect);
  }
  return "";
}

// What a step only one run takes does, in a few words.
std::string step_summary(const Trace& t, const LoopStep& s) {
  const std::vector<Item> items = items_of(t, s);
  std::string text;
  for (size_t k = 0; k < items.size() && k < 4; ++k) text += (k ? ", " : "") + item_text(items[k]);
  if (items.size() > 4) text += " and " + std::to_string(items.size() - 4) + " more";
  if (!items.empty()) return text;
  text = "works on chip only (";
  for (int64_t k = s.first; k < s.end && k < s.first + 3; ++k) {
    const Event& e = t.events[size_t(k)];
    text += std::string(k > s.first ? ", " : "") + simulator::to_string(e.kind) + " " +
            (e.op ? e.op : "");
  }
  return text + (s.end - s.first > 3 ? ", ...)" : ")");
}

// Where a step only one run takes is pointed at: its first transfer, skip or computed block.
int64_t first_item_event(const Trace& t, const LoopStep& s) {
  const std::vector<Item> items = items_of(t, s);
  return items.empty() ? s.first : items[0].event;
}

int64_t flops_of(const Trace& t, const LoopStep& s) {
  int64_t f = 0;
  for (int64_t k = s.first; k < s.end; ++k) f += t.events[size_t(k)].flops;
  return f;
}

struct Names {
  const std::string& left;
  const std::string& right;
};

std::vector<Difference> compare_step(const Trace& lt, const LoopStep& ls, const Trace& rt,
                                     const LoopStep& rs, const Names& n) {
  std::vector<Item> a = items_of(lt, ls), b = items_of(rt, rs);
  for (Item& x : a)
    for (Item& y : b)
      if (!y.used && same(x, y)) {
        x.used = y.used = true;
        break;
      }
  std::vector<Difference> out;
  auto pair_up = [&](auto match, auto make) {
    for (Item& x : a) {
      if (x.used) continue;
      for (Item& y : b)
        if (!y.used && match(x, y)) {
          x.used = y.used = true;
          out.push_back(make(x, y));
          break;
        }
    }
  };
  pair_up(
      [](const Item& x, const Item& y) {
        return x.kind == ItemKind::Compute && y.kind == ItemKind::Skip && same_rect(x.rect, y.rect);
      },
      [&](const Item& x, const Item& y) {
        return Difference{DifferenceKind::ComputedSkipped,
                          n.left + " computes " + tile_text(TensorId::S, x.rect) + ", which " +
                              n.right + " skips: the mask hides every score of it",
                          x.event, y.event};
      });
  pair_up(
      [](const Item& x, const Item& y) {
        return x.kind == ItemKind::Skip && y.kind == ItemKind::Compute && same_rect(x.rect, y.rect);
      },
      [&](const Item& x, const Item& y) {
        return Difference{DifferenceKind::SkippedComputed,
                          n.left + " skips " + tile_text(TensorId::S, x.rect) + ", which " +
                              n.right + " computes: the mask allows some of its scores",
                          x.event, y.event};
      });
  pair_up([](const Item& x,
             const Item& y) { return is_transfer(x) && x.kind == y.kind && x.tensor == y.tensor; },
          [&](const Item& x, const Item& y) {
            return Difference{DifferenceKind::ByteCount,
                              n.left + " " + item_text(x) + " where " + n.right + " " +
                                  item_text(y) +
                                  (x.bytes != y.bytes ? ": a byte count that differs" : ""),
                              x.event, y.event};
          });
  for (const Item& x : a)
    if (!x.used)
      out.push_back({DifferenceKind::Extra,
                     n.left + " " + item_text(x) + " here; " + n.right + " does not", x.event, -1});
  for (const Item& y : b)
    if (!y.used)
      out.push_back({DifferenceKind::Missing,
                     n.right + " " + item_text(y) + " here; " + n.left + " does not", -1, y.event});
  // A block computed by one run and skipped by the other first (the loads that come with it
  // follow from it), then in the order the steps happen (by the left run's events where both
  // have one).
  auto key = [&](const Difference& d) {
    const bool skip =
        d.kind == DifferenceKind::ComputedSkipped || d.kind == DifferenceKind::SkippedComputed;
    return std::pair(skip ? 0 : 1,
                     d.left_event >= 0 ? d.left_event - ls.first : d.right_event - rs.first);
  };
  std::stable_sort(out.begin(), out.end(),
                   [&](const Difference& x, const Difference& y) { return key(x) < key(y); });
  const int64_t fl = flops_of(lt, ls), fr = flops_of(rt, rs);
  if (out.empty() && fl != fr)
    out.push_back({DifferenceKind::Flops,
                   "the same HBM traffic, other arithmetic: " + n.left + " counts " +
                       std::to_string(fl) + " FLOPs at this step, " + n.right + " " +
                       std::to_string(fr),
                   ls.first, rs.first});
  return out;
}

// Rows of the alignment: pairs of equal (i, j) in order, the unmatched steps between them.
std::vector<AlignedStep> align(const std::vector<LoopStep>& L, const std::vector<LoopStep>& R) {
  auto equal = [&](size_t a, size_t b) { return L[a].i == R[b].i && L[a].j == R[b].j; };
  const size_t n = L.size(), m = R.size();
  size_t pre = 0, suf = 0;
  while (pre < n && pre < m && equal(pre, pre)) ++pre;
  while (suf < n - pre && suf < m - pre && equal(n - 1 - suf, m - 1 - suf)) ++suf;
  const size_t nn = n - pre - suf, mm = m - pre - suf;
  require(int64_t(nn) * int64_t(mm) <= kMaxAlignCells,
          "the runs have " + std::to_string(n) + " and " + std::to_string(m) +
              " loop steps, too many to align side by side (at most " +
              std::to_string(kMaxAlignCells) +
              " pairs of differing steps); compare runs on a smaller problem");

  // Suffix LCS lengths, two rows at a time; the choice at each cell kept in 2 bits.
  enum : uint8_t { kMatch, kLeftOnly, kRightOnly };
  std::vector<uint8_t> choice((nn * mm + 3) / 4, 0);
  auto set_choice = [&](size_t a, size_t b, uint8_t c) {
    const size_t k = a * mm + b;
    choice[k / 4] = uint8_t(choice[k / 4] | (c << (2 * (k % 4))));
  };
  auto get_choice = [&](size_t a, size_t b) {
    const size_t k = a * mm + b;
    return uint8_t((choice[k / 4] >> (2 * (k % 4))) & 3);
  };
  std::vector<int32_t> next(mm + 1, 0), cur(mm + 1, 0);
  for (size_t a = nn; a-- > 0;) {
    cur[mm] = 0;
    for (size_t b = mm; b-- > 0;) {
      if (equal(pre + a, pre + b)) {
        cur[b] = next[b + 1] + 1;
        set_choice(a, b, kMatch);
      } else if (next[b] >= cur[b + 1]) {
        cur[b] = next[b];
        set_choice(a, b, kLeftOnly);
      } else {
        cur[b] = cur[b + 1];
        set_choice(a, b, kRightOnly);
      }
    }
    std::swap(cur, next);
  }

  std::vector<AlignedStep> rows;
  for (size_t k = 0; k < pre; ++k) rows.push_back({k, k, {}});
  size_t a = 0, b = 0;
  while (a < nn && b < mm) {
    const uint8_t c = get_choice(a, b);
    if (c == kMatch)
      rows.push_back({pre + a++, pre + b++, {}});
    else if (c == kLeftOnly)
      rows.push_back({pre + a++, std::nullopt, {}});
    else
      rows.push_back({std::nullopt, pre + b++, {}});
  }
  for (; a < nn; ++a) rows.push_back({pre + a, std::nullopt, {}});
  for (; b < mm; ++b) rows.push_back({std::nullopt, pre + b, {}});
  for (size_t k = 0; k < suf; ++k) rows.push_back({n - suf + k, m - suf + k, {}});
  return rows;
}

}  // namespace

std::vector<LoopStep> loop_steps(const Trace& trace) {
  std::vector<LoopStep> steps;
  for (size_t k = 0; k < trace.events.size(); ++k) {
    const Event& e = trace.events[k];
    if (steps.empty() || steps.back().i != e.i || steps.back().j != e.j)
      steps.push_back({e.i, e.j, int64_t(k), int64_t(k)});
    steps.back().end = int64_t(k) + 1;
  }
  return steps;
}

std::string step_label(int64_t i, int64_t j) {
  if (i >= 0 && j >= 0) return "block (i=" + std::to_string(i) + ", j=" + std::to_string(j) + ")";
  if (j >= 0) return "j=" + std::to_string(j) + ", outside the loop over i";
  if (i >= 0) return "i=" + std::to_string(i) + ", outside the loop over j";
  return "before the loops";
}

bool AlignedStep::diverges() const {
  return std::any_of(differences.begin(), differences.end(),
                     [](const Difference& d) { return d.diverges(); });
}

Comparison compare_traces(const Trace& left, const Trace& right, std::string left_name,
                          std::string right_name) {
  Comparison c;
  c.left_name = std::move(left_name);
  c.right_name = std::move(right_name);
  c.left_steps = loop_steps(left);
  c.right_steps = loop_steps(right);
  c.rows = align(c.left_steps, c.right_steps);
  const Names names{c.left_name, c.right_name};
  for (size_t r = 0; r < c.rows.size(); ++r) {
    AlignedStep& row = c.rows[r];
    if (row.left && row.right) {
      row.differences =
          compare_step(left, c.left_steps[*row.left], right, c.right_steps[*row.right], names);
    } else if (row.left) {
      const LoopStep& s = c.left_steps[*row.left];
      row.differences.push_back({DifferenceKind::ExtraStep,
                                 c.left_name + " takes a step here that " + c.right_name +
                                     " does not: " + step_summary(left, s),
                                 first_item_event(left, s), -1});
    } else {
      const LoopStep& s = c.right_steps[*row.right];
      row.differences.push_back({DifferenceKind::MissingStep,
                                 c.right_name + " takes a step here that " + c.left_name +
                                     " does not: " + step_summary(right, s),
                                 -1, first_item_event(right, s)});
    }
    if (row.diverges()) {
      ++c.diverging_rows;
      if (!c.first_divergence) c.first_divergence = r;
    }
  }
  if (!c.first_divergence) {
    c.summary = c.left_name + " matches " + c.right_name + " step for step (" +
                std::to_string(c.rows.size()) + " loop steps)";
  } else {
    const AlignedStep& row = c.rows[*c.first_divergence];
    const LoopStep& s = row.left ? c.left_steps[*row.left] : c.right_steps[*row.right];
    const auto first = std::find_if(row.differences.begin(), row.differences.end(),
                                    [](const Difference& d) { return d.diverges(); });
    c.summary = "first difference at step " + std::to_string(*c.first_divergence + 1) + " of " +
                std::to_string(c.rows.size()) + ", " + step_label(s.i, s.j) + ": " + first->text +
                " (" + std::to_string(c.diverging_rows) +
                (c.diverging_rows == 1 ? " step differs)" : " steps differ)");
  }
  return c;
}

int64_t replay_step(const Comparison& c, size_t row, bool left) {
  if (c.rows.empty()) return 0;
  const auto& steps = left ? c.left_steps : c.right_steps;
  const AlignedStep& r = c.rows[std::min(row, c.rows.size() - 1)];
  const std::optional<size_t> own = left ? r.left : r.right;
  if (own) {
    for (const Difference& d : r.differences) {
      const int64_t e = left ? d.left_event : d.right_event;
      if (d.diverges() && e >= 0) return e + 1;
    }
    return steps[*own].end;
  }
  for (size_t k = std::min(row, c.rows.size() - 1); k-- > 0;) {
    const std::optional<size_t> s = left ? c.rows[k].left : c.rows[k].right;
    if (s) return steps[*s].end;
  }
  return 0;
}

}  // namespace flashlab::viz
