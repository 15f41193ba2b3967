// FlashAttention-2 forward (FA2 Alg. 1): outer loop over Q blocks i, inner over K/V
// blocks j; O_i is kept unnormalized on chip and divided by l once at the end; only the
// logsumexp L = m + log l is written. Same scale, mask, dropout and block skipping as FA1 Alg. 2
// and 5.
#pragma once

#include <flashlab/simulator/algorithms/problem.hpp>
#include <flashlab/simulator/machine/machine.hpp>

namespace flashlab::simulator {

const PseudoCode& flash2_forward_code();

// Requires Q, K, V in HBM; leaves O and L there.
void flash2_forward(Machine& M, const HeadProblem& p);

}  // namespace flashlab::simulator
