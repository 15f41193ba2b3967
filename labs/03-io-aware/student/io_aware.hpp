// Lab 3: the functions you implement in io_aware.cpp (README.md). The grader calls exactly
// these; do not change their signatures.
#pragma once

#include <cstdint>

#include <flashlab/core/tiling.hpp>
#include <flashlab/simulator/algorithms/problem.hpp>
#include <flashlab/simulator/machine/machine.hpp>

namespace flashlab::labs::lab3 {

namespace sim = flashlab::simulator;

// Task 1: block sizes B_r (block_rows) and B_c (block_cols) for an SRAM of `sram_bytes` bytes
// holding elements of `element_bytes` bytes, head dimension `head_dim`. Every tile your
// flash_forward_on_machine holds at once must fit, and fewer passes over Q and O (a larger B_c)
// move fewer bytes.
TileSizes choose_tiles(int64_t sram_bytes, int element_bytes, int64_t head_dim);

// Task 2: FA1 Alg. 1 (with FA1 Alg. 2's scale tau = p.tau, no mask, no dropout) on the
// machine. Q, K, V are in HBM (p.seq_q x d, p.seq_k x d); leave O, l, m there. Move data only
// with M.load / M.store, compute only with the machine's tile operations (machine.hpp).
void flash_forward_on_machine(sim::Machine& M, const sim::HeadProblem& p);

}  // namespace flashlab::labs::lab3
