// FLASHLAB-INSTRUCTOR-ONLY: lab 1 solution (labs/01-online-softmax/README.md, tasks 1-5).
#include "online_softmax.hpp"

#include <algorithm>
#include <cmath>

namespace flashlab::labs::lab1 {

std::vector<float> stable_softmax(std::span<const float> x) {
  const RowState s = block_state(x);
  std::vector<float> p(x.size(), 0.0f);
  if (s.m == -INFINITY) return p;  // fully masked row: no softmax, zeros by convention
  for (std::size_t i = 0; i < x.size(); ++i) p[i] = std::exp(x[i] - s.m) / s.l;
  return p;
}

RowState block_state(std::span<const float> block) {
  RowState s;
  for (float x : block) s.m = std::max(s.m, x);
  if (s.m == -INFINITY) return s;  // nothing unmasked: e^{-inf - (-inf)} would be NaN
  for (float x : block) s.l += std::exp(x - s.m);
  return s;
}

// e^{m_part - m_new}; a part that has seen nothing contributes 0 (and must not give NaN).
static float rescale(float m_part, float m_new) {
  return m_part == -INFINITY ? 0.0f : std::exp(m_part - m_new);
}

RowState merge(RowState a, RowState b) {
  RowState out;
  out.m = std::max(a.m, b.m);
  if (out.m == -INFINITY) return out;
  out.l = rescale(a.m, out.m) * a.l + rescale(b.m, out.m) * b.l;
  return out;
}

std::vector<float> online_softmax(KeyBlocks& x) {
  RowState s;  // pass 1: the row's (m, l), one block at a time
  while (const auto b = x.next()) s = merge(s, block_state(b->scores));
  std::vector<float> p(x.size(), 0.0f);
  if (s.m == -INFINITY) return p;  // fully masked row
  x.rewind();                      // pass 2: every probability from the final (m, l)
  while (const auto b = x.next())
    for (std::size_t k = 0; k < b->scores.size(); ++k)
      p[b->start + k] = std::exp(b->scores[k] - s.m) / s.l;
  return p;
}

std::vector<float> online_attention_row(KeyBlocks& keys) {
  const std::size_t d = keys.d();
  RowState s;
  std::vector<float> acc(d, 0.0f);  // sum_j e^{s_j - m} v_j over the keys seen so far
  while (const auto b = keys.next()) {
    const RowState merged = merge(s, block_state(b->scores));
    if (merged.m == -INFINITY) continue;         // everything masked so far
    const float alpha = rescale(s.m, merged.m);  // FA1 Alg. 1 l. 12: e^{m_i - m_i^new}
    for (float& a : acc) a *= alpha;
    for (std::size_t j = 0; j < b->scores.size(); ++j) {
      const float p = std::exp(b->scores[j] - merged.m);  // masked: e^{-inf} = 0
      for (std::size_t e = 0; e < d; ++e) acc[e] += p * b->values[j * d + e];
    }
    s = merged;
  }
  if (s.l > 0.0f)
    for (float& a : acc) a /= s.l;
  return acc;
}

}  // namespace flashlab::labs::lab1
