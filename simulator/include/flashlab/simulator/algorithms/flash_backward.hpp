// FlashAttention backward with recomputation (FA1 Alg. 4): P is recomputed from l and m,
// D_i = rowsum(dO_i o O_i), the dropout mask regenerated from the same Philox keys, dQ
// accumulated in HBM, dK and dV accumulated on chip. Blocks with no allowed element are skipped.
#pragma once

#include <flashlab/simulator/algorithms/problem.hpp>
#include <flashlab/simulator/machine/machine.hpp>

namespace flashlab::simulator {

const PseudoCode& flash_backward_code();

// Requires Q, K, V, O, dO, l, m in HBM (flash_forward leaves O, l, m); writes dQ, dK, dV.
void flash_backward(Machine& M, const HeadProblem& p);

}  // namespace flashlab::simulator
