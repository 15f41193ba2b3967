// Lab 6: the functions of sparsity.cpp (README.md). process_block is given; you implement
// classify_tile and sparse_forward_on_machine. The grader calls exactly these; do not change
// their signatures.
#pragma once

#include <cstdint>

#include <flashlab/core/options.hpp>
#include <flashlab/simulator/algorithms/problem.hpp>
#include <flashlab/simulator/machine/machine.hpp>

namespace flashlab::labs::lab6 {

namespace sim = flashlab::simulator;

// What the mask leaves of one tile of S.
enum class Coverage {
  None,     // no score of the tile is allowed: skip it (not loaded, not computed)
  Partial,  // some scores are masked: compute the tile, then apply the mask
  Full      // every score is allowed: compute the tile, no mask step needed
};

// Task 1: the coverage of the tile `s` (rows s.row0 .. s.row0 + s.rows - 1 of S, columns
// s.col0 .. s.col0 + s.cols - 1) under `mask` (mask.causal: score (r, c) allowed iff c <= r;
// mask.block: a block-sparse layout, block_on(bi, bj), possibly with blocks of another size than
// the tile; both rules apply together). Decide from the mask's blocks and the causal rule,
// without visiting every score of the tile.
Coverage classify_tile(const MaskParams& mask, const sim::TileRect& s);

// Given: FA1 Alg. 5 l. 9–17 for block (i, j) with K_j, V_j already on chip: loads Q_i, O_i,
// l_i, m_i, computes S_ij (masked when `apply_mask`), updates O_i, l_i, m_i in HBM, frees
// what it allocated.
void process_block(sim::Machine& M, const sim::HeadProblem& p, int64_t i, int64_t j, sim::Tile K_j,
                   sim::Tile V_j, bool apply_mask);

// Task 2: FA1 Alg. 5 on the machine: the loops of FA1 Alg. 1 that skip every tile the mask hides
// entirely (p.mask holds the causal flag and the block layout). Q, K, V are in HBM; leave O, l,
// m there.
void sparse_forward_on_machine(sim::Machine& M, const sim::HeadProblem& p);

}  // namespace flashlab::labs::lab6
