// FlashAttention-2 forward (FA2 Alg. 1): outer loop over Q blocks i, inner over K/V
// blocks j; O_i is kept unnormalized on chip and divided by l once at the end; only the
// logsumexp L = m + log l is written. Same scale, mask, dropout and block skipping as FA1 Alg. 2
// and 5. With HeadProblem::kept_max, FA4's conditional rescale: the running max is kept while the
// scores stay within core's kKeptMaxSlackLog2 of it, and O_i is rescaled only when it moves.
#pragma once

#include <flashlab/simulator/algorithms/problem.hpp>
#include <flashlab/simulator/machine/machine.hpp>

namespace flashlab::simulator {

const PseudoCode& flash2_forward_code(bool kept_max = false);

// Requires Q, K, V in HBM; leaves O and L there.
void flash2_forward(Machine& M, const HeadProblem& p);

}  // namespace flashlab::simulator
