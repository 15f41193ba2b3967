// Running each implementation on the shared inputs and filling its ImplementationRun: the float64
// reference (FA1 Alg. 0 / FA1 Alg. 3) and the simulator's algorithms (standard, FA1, FA2 order).
#pragma once

#include <flashlab/cli/implementation_run.hpp>
#include <flashlab/cli/inputs.hpp>
#include <flashlab/cli/problem.hpp>
#include <flashlab/simulator/algorithm.hpp>
#include <flashlab/simulator/machine/io_stats.hpp>

namespace flashlab::cli {

// The float64 reference; its forward is also what every other row is compared with.
ImplementationRun run_reference(const Problem& problem, const Inputs& inputs, bool backward);

// One simulated algorithm (float arithmetic on the dtype-rounded inputs, element size of the
// dtype), and its backward when `backward` (FA1 Alg. 3, FA1 Alg. 4 or FA2 Alg. 2; FA2's with
// tiles of its own).
ImplementationRun run_simulated(const Problem& problem, const Inputs& inputs,
                                simulator::Algorithm algorithm, bool backward);

// Extra HBM beyond inputs and outputs that a simulated pass kept: every tensor the stats show
// traffic for, other than Q, K, V, O, dO, dQ, dK, dV, at its full size (N x N for S, P,
// P_dropped, dP, dS; N for l, m, L) for all batch x heads, in the stats' element size.
double extra_memory_bytes(const simulator::IoStats& stats, const AttentionShape& shape);

// The same for the union of the tensors of two passes (forward and backward).
double extra_memory_bytes(const simulator::IoStats& forward, const simulator::IoStats& backward,
                          const AttentionShape& shape);

}  // namespace flashlab::cli
