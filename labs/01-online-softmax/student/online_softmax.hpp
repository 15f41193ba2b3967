// Lab 1: the functions you implement in online_softmax.cpp (README.md, tasks 1-5). The grader
// calls exactly these; do not change their signatures.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

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

// Task 4: softmax in blocks of `block_size`: first stream over the blocks merging their states,
// then write e^{x_i - m} / l. Must equal stable_softmax for every block size >= 1.
std::vector<float> online_softmax(std::span<const float> x, std::size_t block_size);

// Task 5: one query row of attention in ONE pass over the keys, in blocks of `block_size`:
// returns o = sum_j softmax(scores)_j v_j (d values). `values` holds n rows of d values,
// row-major (v_j = values[j*d .. j*d + d)), n = scores.size().
std::vector<float> online_attention_row(std::span<const float> scores,
                                        std::span<const float> values, std::size_t d,
                                        std::size_t block_size);

}  // namespace flashlab::labs::lab1
