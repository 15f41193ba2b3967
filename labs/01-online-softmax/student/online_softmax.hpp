// Lab 1: the functions you implement in online_softmax.cpp (README.md, tasks 1-5). The grader
// calls exactly these; do not change their signatures.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

#include "key_blocks.hpp"

namespace flashlab::labs::lab1 {

// Task 1: softmax(x)_i = e^{x_i - m} / sum_j e^{x_j - m} with m = max_j x_j. A row whose every
// score is -inf (fully masked) has no softmax: return all zeros, never NaN.
std::vector<float> stable_softmax(std::span<const float> x);

// The statistics of §3.1 for a piece of a row: m = max of the scores seen, l = sum of e^{x - m}.
// A state that has seen no (unmasked) score is {m = -inf, l = 0}.
struct RowState {
  float m = -INFINITY;
  float l = 0.0f;
};

// Task 2: the state of one block of scores.
RowState block_state(std::span<const float> block);

// Task 3: the state of the concatenation [a's scores, b's scores], from the two states only.
RowState merge(RowState a, RowState b);

// Task 4: softmax of the row that `x` hands out block by block (key_blocks.hpp), in exactly two
// passes: pass 1 merges the blocks' states into the row's (m, l), pass 2 (after x.rewind())
// writes e^{x_i - m} / l for each block. Must equal stable_softmax for every block size >= 1.
std::vector<float> online_softmax(KeyBlocks& x);

// Task 5: one query row of attention in ONE pass over the keys (no rewind()): returns
// o = sum_j softmax(scores)_j v_j, the keys.d() values, where each block of `keys` holds the
// scores of its keys and their value rows.
std::vector<float> online_attention_row(KeyBlocks& keys);

}  // namespace flashlab::labs::lab1
