// FlashAttention-2 backward (FA2 Alg. 2): a preprocess writes D = rowsum(dO o O) (FA2 Alg. 2
// FA2 Alg. 2 l. 4); then K_j, V_j and the dK_j, dV_j accumulators stay on chip for a whole column
// of blocks (FA2 Alg. 2 l. 5–7) while Q_i, dO_i, L_i, D_i stream past and dQ_i is accumulated in
// HBM (FA2 Alg. 2 l. 15). P is recomputed from the logsumexp alone, P = exp(S - L). Same scale,
// mask, dropout and block skipping as FA1 Alg. 4.
#pragma once

#include <flashlab/simulator/algorithms/problem.hpp>
#include <flashlab/simulator/machine/machine.hpp>

namespace flashlab::simulator {

const PseudoCode& flash2_backward_code();

// Requires Q, K, V, O, dO and L in HBM (flash2_forward leaves O and L); writes D, dQ, dK, dV.
void flash2_backward(Machine& M, const HeadProblem& p);

}  // namespace flashlab::simulator
