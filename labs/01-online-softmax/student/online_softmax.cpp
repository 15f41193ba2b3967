// Lab 1 -- your implementation. Replace each todo(...) with your code (README.md, tasks 1-5),
// then run `build/<preset>/flashlab-grade 1 --build`.
#include "online_softmax.hpp"

#include <algorithm>
#include <cmath>

#include <flashlab/labs/todo.hpp>

namespace flashlab::labs::lab1 {

// For comparison (given): the textbook formula. Try it on {1000, 0} and on {-1000, -1000}.
[[maybe_unused]] static std::vector<float> naive_softmax(std::span<const float> x) {
  float sum = 0.0f;
  for (float xi : x) sum += std::exp(xi);
  std::vector<float> p;
  for (float xi : x) p.push_back(std::exp(xi) / sum);
  return p;
}

std::vector<float> stable_softmax([[maybe_unused]] std::span<const float> x) {
  // TODO (task 1): subtract the row max before exp; a row of only -inf gives zeros.
  todo("task 1, stable_softmax in online_softmax.cpp");
}

RowState block_state([[maybe_unused]] std::span<const float> block) {
  // TODO (task 2): m = max of the block, l = sum of e^{x - m} (an all -inf block: {-inf, 0}).
  todo("task 2, block_state in online_softmax.cpp");
}

RowState merge([[maybe_unused]] RowState a, [[maybe_unused]] RowState b) {
  // TODO (task 3): paper §3.1. Watch the state that has seen nothing (m = -inf).
  todo("task 3, merge in online_softmax.cpp");
}

std::vector<float> online_softmax([[maybe_unused]] KeyBlocks& x) {
  // TODO (task 4): pass 1 merges block_state of each block (while (auto b = x.next()) ...);
  // then x.rewind(), and pass 2 writes p[b->start + k] = e^{x - m} / l for each block.
  todo("task 4, online_softmax in online_softmax.cpp");
}

std::vector<float> online_attention_row([[maybe_unused]] KeyBlocks& keys) {
  // TODO (task 5): one pass, no rewind. Keep (m, l) and an un-normalized output acc (keys.d()
  // values); per block rescale what you have by e^{m_old - m_new} before adding the block's
  // e^{s_j - m_new} v_j (v_j = b->values[j * d .. j * d + d)).
  todo("task 5, online_attention_row in online_softmax.cpp");
}

}  // namespace flashlab::labs::lab1
