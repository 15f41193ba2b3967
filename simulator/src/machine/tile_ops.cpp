// Arithmetic on SRAM tiles in float with Eigen. Each operation counts its own cost from the tile
// shapes (so algorithms never count) and does nothing else in counting-only mode.
#include <cassert>
#include <cmath>

#include <flashlab/core/dropout.hpp>
#include <flashlab/core/softmax_state.hpp>
#include <flashlab/simulator/machine/machine.hpp>

namespace flashlab::simulator {
namespace {
constexpr float kNegInf = -INFINITY;
}  // namespace

void Machine::record_softmax(int line, const char* op, Tile m, int64_t flops, int64_t exps,
                             int64_t first_row) {
  if (!accounting_) return;
  other_flops_ += flops;
  exp_ops_ += exps;
  if (recording()) {
    const SramTile& t = sram_[m];
    Event& e = record(EventKind::SoftmaxUpdate, line, op, t.tensor, t.rect);
    e.flops = flops;
    e.exps = exps;
    e.softmax_first = first_row;
    e.softmax_count = int64_t(trace_->softmax_rows.size()) - first_row;
  }
}

void Machine::matmul(int line, const char* op, Tile C, Tile A, Tile B, MatmulArgs args) {
  const TileRect &a = sram_[A].rect, &b = sram_[B].rect;
  const int64_t m = args.transpose_a ? a.cols : a.rows;
  const int64_t k = args.transpose_a ? a.rows : a.cols;
  const int64_t n = args.transpose_b ? b.rows : b.cols;
  assert(k == (args.transpose_b ? b.cols : b.rows));
  assert(sram_[C].rect.rows == m && sram_[C].rect.cols == n);
  if (!config_.counting_only) {
    Matrix& c = sram_[C].data;
    const Matrix &x = sram_[A].data, &y = sram_[B].data;
    const float alpha = args.alpha;
    auto run = [&](const auto& lhs, const auto& rhs) {
      if (args.accumulate)
        c.noalias() += alpha * lhs * rhs;
      else
        c.noalias() = alpha * lhs * rhs;
    };
    if (args.transpose_a && args.transpose_b)
      run(x.transpose(), y.transpose());
    else if (args.transpose_a)
      run(x.transpose(), y);
    else if (args.transpose_b)
      run(x, y.transpose());
    else
      run(x, y);
  }
  compute(line, op, C, 2 * m * n * k, 0, true);
}

void Machine::apply_mask(int line, const char* op, Tile S) {
  SramTile& s = sram_[S];
  if (!config_.counting_only) {
    const MaskParams& mask = config_.params.mask;
    for (int64_t r = 0; r < s.rect.rows; ++r)
      for (int64_t c = 0; c < s.rect.cols; ++c)
        if (!mask.allows(s.rect.row0 + r, s.rect.col0 + c)) s.data(r, c) = kNegInf;
  }
  compute(line, op, S, 0, 0, false);
}

void Machine::apply_dropout(int line, const char* op, Tile dst, Tile src, DropoutMask mask) {
  const SramTile& s = sram_[src];
  // core's rule: one call per row and group of eight columns the tile touches.
  int64_t draws = 0;
  if (mask == DropoutMask::Draw && s.rect.cols > 0) {
    const int64_t first = s.rect.col0 / 8, last = (s.rect.col0 + s.rect.cols - 1) / 8;
    draws = s.rect.rows * (last - first + 1);
  }
  if (!config_.counting_only) {
    const DropoutParams& d = config_.params.dropout;
    const float keep_scale = static_cast<float>(d.keep_scale);
    Matrix& out = sram_[dst].data;
    for (int64_t r = 0; r < s.rect.rows; ++r)
      for (int64_t c = 0; c < s.rect.cols; ++c)
        out(r, c) = dropout_keep(d, batch_, head_, s.rect.row0 + r, s.rect.col0 + c)
                        ? s.data(r, c) * keep_scale
                        : 0.0f;
  }
  compute(line, op, dst, s.rect.elements(), 0, false, draws);
}

void Machine::row_max_exp_sum(int line, const char* op, Tile P, Tile S, Tile m_tilde,
                              Tile l_tilde) {
  const TileRect& rect = sram_[S].rect;
  if (!config_.counting_only) {
    const Matrix& s = sram_[S].data;
    Matrix& p = sram_[P].data;
    Matrix &m = sram_[m_tilde].data, &l = sram_[l_tilde].data;
    for (int64_t r = 0; r < rect.rows; ++r) {
      const float mx = s.row(r).maxCoeff();
      m(r, 0) = mx;
      if (mx == kNegInf) {  // every score of the row masked in this block: contributes nothing
        p.row(r).setZero();
        l(r, 0) = 0.0f;
        continue;
      }
      p.row(r) = (s.row(r).array() - mx).exp().matrix();
      l(r, 0) = p.row(r).sum();
    }
  }
  compute(line, op, P, 3 * rect.elements(), rect.elements(), false);
}

void Machine::softmax_update(int line, const char* op, const SoftmaxUpdate& t) {
  const TileRect rect = sram_[t.m_new].rect;
  const int64_t first = recording() ? int64_t(trace_->softmax_rows.size()) : 0;
  if (!config_.counting_only) {
    const bool keep_rows = recording();
    for (int64_t r = 0; r < rect.rows; ++r) {
      const SoftmaxState<float> old{sram_[t.m].data(r, 0), sram_[t.l].data(r, 0)};
      const SoftmaxState<float> block{sram_[t.m_tilde].data(r, 0), sram_[t.l_tilde].data(r, 0)};
      const SoftmaxState<float> merged = merge(old, block);  // §3.1
      const float alpha = rescale_factor(old.m, merged.m);
      sram_[t.m_new].data(r, 0) = merged.m;
      sram_[t.l_new].data(r, 0) = merged.l;
      if (t.alpha.valid()) sram_[t.alpha].data(r, 0) = alpha;
      if (t.beta.valid()) sram_[t.beta].data(r, 0) = rescale_factor(block.m, merged.m);
      if (keep_rows)
        trace_->softmax_rows.push_back({rect.row0 + r, old.m, old.l, merged.m, merged.l, alpha});
    }
  }
  // Per row: one max, two exponentials (e^{m - m_new}, e^{m~ - m_new}), two products, one sum.
  record_softmax(line, op, t.m_new, 4 * rect.rows, 2 * rect.rows, first);
}

void Machine::online_softmax_rows(Tile P, Tile S, Tile m, Tile l, Tile rescale, bool keep_m) {
  if (config_.counting_only) return;
  const TileRect rect = sram_[S].rect;
  const bool keep_rows = recording();
  const Matrix& s = sram_[S].data;
  Matrix& p = sram_[P].data;
  for (int64_t r = 0; r < rect.rows; ++r) {
    const SoftmaxState<float> old{sram_[m].data(r, 0), sram_[l].data(r, 0)};
    const float m_new = keep_m ? old.m : std::max(old.m, s.row(r).maxCoeff());
    if (m_new == kNegInf)
      p.row(r).setZero();
    else
      p.row(r) = (s.row(r).array() - m_new).exp().matrix();
    // The block's state relative to m_new merged into the old one: l = e^{m-m_new} l + sum P~
    // (with m kept, e^0 = 1: l + sum P~).
    const SoftmaxState<float> merged = merge(old, SoftmaxState<float>{m_new, p.row(r).sum()});
    const float alpha = rescale_factor(old.m, merged.m);
    sram_[m].data(r, 0) = merged.m;
    sram_[l].data(r, 0) = merged.l;
    sram_[rescale].data(r, 0) = alpha;
    if (keep_rows)
      trace_->softmax_rows.push_back({rect.row0 + r, old.m, old.l, merged.m, merged.l, alpha});
  }
}

void Machine::online_softmax(int line, const char* op, Tile P, Tile S, Tile m, Tile l,
                             Tile rescale) {
  const TileRect rect = sram_[S].rect;
  const int64_t first = recording() ? int64_t(trace_->softmax_rows.size()) : 0;
  online_softmax_rows(P, S, m, l, rescale, false);
  // Per element: max, subtract, exp, sum; per row: one exp e^{m - m_new}, a product, a sum.
  record_softmax(line, op, m, 3 * rect.elements() + 3 * rect.rows, rect.elements() + rect.rows,
                 first);
}

bool Machine::online_softmax_kept_max(int line, const char* op, Tile P, Tile S, Tile m, Tile l,
                                      Tile rescale) {
  const TileRect rect = sram_[S].rect;
  const float slack = float(kKeptMaxSlackLog2 * kLn2);  // the scores are in natural-log units
  bool kept = true;
  if (!config_.counting_only) {
    const Matrix& s = sram_[S].data;
    for (int64_t r = 0; r < rect.rows && kept; ++r) {
      const float m_r = sram_[m].data(r, 0);
      kept = m_r != kNegInf && s.row(r).maxCoeff() <= m_r + slack;
    }
  }
  if (!kept) {  // the test: one compare per score
    compute(line, op, m, rect.elements(), 0, false);
    return false;
  }
  const int64_t first = recording() ? int64_t(trace_->softmax_rows.size()) : 0;
  online_softmax_rows(P, S, m, l, rescale, true);
  // Per element: the test's compare, subtract, exp, sum; per row: l's add.
  record_softmax(line, op, m, 3 * rect.elements() + rect.rows, rect.elements(), first);
  return true;
}

void Machine::exp_minus_rows(int line, const char* op, Tile P, Tile S, Tile m) {
  const TileRect& rect = sram_[S].rect;
  if (!config_.counting_only) {
    const Matrix& s = sram_[S].data;
    Matrix& p = sram_[P].data;
    for (int64_t r = 0; r < rect.rows; ++r) {
      const float mr = sram_[m].data(r, 0);
      if (mr == kNegInf)
        p.row(r).setZero();
      else
        p.row(r) = (s.row(r).array() - mr).exp().matrix();
    }
  }
  compute(line, op, P, rect.elements(), rect.elements(), false);
}

void Machine::scale_rows(int line, const char* op, Tile X, Tile v) {
  const TileRect& rect = sram_[X].rect;
  if (!config_.counting_only) sram_[X].data.array().colwise() *= sram_[v].data.col(0).array();
  compute(line, op, X, rect.elements(), 0, false);
}

void Machine::divide_rows(int line, const char* op, Tile X, Tile v) {
  const TileRect& rect = sram_[X].rect;
  if (!config_.counting_only) {
    Matrix& x = sram_[X].data;
    for (int64_t r = 0; r < rect.rows; ++r) {
      const float vr = sram_[v].data(r, 0);
      if (vr == 0.0f)
        x.row(r).setZero();
      else
        x.row(r) /= vr;
    }
  }
  compute(line, op, X, rect.elements(), 0, false);
}

void Machine::row_dot(int line, const char* op, Tile D, Tile A, Tile B, bool accumulate) {
  const TileRect& rect = sram_[A].rect;
  if (!config_.counting_only) {
    auto dot = sram_[A].data.cwiseProduct(sram_[B].data).rowwise().sum();
    if (accumulate)
      sram_[D].data.col(0) += dot;
    else
      sram_[D].data.col(0) = dot;
  }
  compute(line, op, D, 2 * rect.elements(), 0, false);
}

void Machine::softmax_grad(int line, const char* op, Tile dS, Tile P, Tile dP, Tile D) {
  const TileRect& rect = sram_[P].rect;
  if (!config_.counting_only) {
    const Matrix& p = sram_[P].data;
    sram_[dS].data =
        p.cwiseProduct((sram_[dP].data.array().colwise() - sram_[D].data.col(0).array()).matrix());
  }
  compute(line, op, dS, 2 * rect.elements(), 0, false);
}

void Machine::logsumexp(int line, const char* op, Tile L, Tile m, Tile l) {
  const TileRect& rect = sram_[L].rect;
  if (!config_.counting_only) {
    for (int64_t r = 0; r < rect.rows; ++r)
      sram_[L].data(r, 0) =
          flashlab::logsumexp(SoftmaxState<float>{sram_[m].data(r, 0), sram_[l].data(r, 0)});
  }
  compute(line, op, L, 2 * rect.rows, 0, false);
}

}  // namespace flashlab::simulator
