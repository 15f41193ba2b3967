// FlashAttention forward exactly as FA1 Alg. 2 (FA1 Alg. 1 with scale, mask, dropout):
// outer loop over K/V blocks j, inner loop over Q blocks i, O, l, m read and written in HBM at
// every step. With a causal or block-sparse mask, blocks with no allowed element are skipped
// as in FA1 Alg. 5 (the trace then follows FA1 Alg. 5's numbering).
#pragma once

#include <flashlab/simulator/algorithms/problem.hpp>
#include <flashlab/simulator/machine/machine.hpp>

namespace flashlab::simulator {

// FA1 Alg. 2 when `block_skipping` is false, FA1 Alg. 5 when true.
const PseudoCode& flash_forward_code(bool block_skipping);

// Requires Q, K, V in HBM; leaves O, l, m there (FA1 Alg. 2 l. 19 "Return O, l, m, R"; R is the
// dropout seed of the options, not stored).
void flash_forward(Machine& M, const HeadProblem& p);

}  // namespace flashlab::simulator
