// Standard attention as PyTorch executes it, one HBM round trip per operation: FA1 Alg. 0
// (S = tau QK^T, mask, softmax, dropout, O = PV, every intermediate written to HBM) and its
// backward, FA1 Alg. 3 (dV, dP, dropout, dS, dQ, dK, again through HBM).
#pragma once

#include <flashlab/simulator/algorithms/problem.hpp>
#include <flashlab/simulator/machine/machine.hpp>

namespace flashlab::simulator {

// FA1 Alg. 0 with the mask and dropout passes of §2.2. Requires Q, K, V in HBM; leaves S (masked),
// P, P_dropped (with dropout) and O there. Matrix products are blocked: a Br x d block of the
// left operand stays on chip while Bc-row blocks of the right one stream past. The softmax reads
// S once when a strip of full rows fits the SRAM, else twice (online statistics, then P).
const PseudoCode& standard_forward_code();
void standard_forward(Machine& M, const HeadProblem& p);

// FA1 Alg. 3. Requires Q, K, V, dO, P (and P_dropped) in HBM, as standard_forward leaves them;
// writes dP, dS (N x N) and dQ, dK, dV. dS reads P and dP once when full rows fit, else twice.
const PseudoCode& standard_backward_code();
void standard_backward(Machine& M, const HeadProblem& p);

}  // namespace flashlab::simulator
