// Masks that leave some query rows with no visible key, shared by the forward and backward
// reference tests. Top-left causal alone never empties a row (row i always sees column 0), so the
// empty rows come from block masks over seq_q = 10 x seq_k = 13 in 4 x 4 blocks (3 x 4 blocks, the
// last ones partial): an all-zero block row, and causal with block (0, 0) switched off (rows 0..3
// could only see columns 0..3).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <flashlab/core/named_block_mask.hpp>
#include <flashlab/core/options.hpp>

namespace flashlab::test {

struct FullyMaskedRows {
  std::string name;
  std::vector<uint8_t> layout;  // 3 x 4 blocks of 4 x 4
  bool causal;
  int64_t first_empty, last_empty;  // the query rows that see no key

  // The case's mask, with dropout on so that the empty rows meet the dropout path too.
  AttentionOptions options(uint64_t seed) const {
    AttentionOptions o;
    o.causal = causal;
    o.dropout_p = 0.2;
    o.seed = seed;
    o.block_mask = block_sparse_mask(layout, 3, 4, 4, 4);
    return o;
  }
};

inline std::vector<FullyMaskedRows> fully_masked_row_cases() {
  return {{"block row 1 all zero", {1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 1}, false, 4, 7},
          {"causal with block (0,0) off", {0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, true, 0, 3}};
}

}  // namespace flashlab::test
