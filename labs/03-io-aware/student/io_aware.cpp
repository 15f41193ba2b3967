// Lab 3 -- your implementation (README.md, tasks 1 and 2), then run
// `build/<preset>/flashlab-grade 3 --build`.
#include "io_aware.hpp"

#include <algorithm>
#include <cmath>

#include <flashlab/labs/todo.hpp>

namespace flashlab::labs::lab3 {

using sim::Tile;
using sim::TileRect;
using T = sim::TensorId;

TileSizes choose_tiles([[maybe_unused]] int64_t sram_bytes, [[maybe_unused]] int element_bytes,
                       [[maybe_unused]] int64_t head_dim) {
  // TODO (task 1): start from FA1 Alg. 1 l. 1 (M counts elements), then make sure every tile of
  // your task 2 fits (README, "The SRAM budget").
  todo("task 1, choose_tiles in io_aware.cpp");
}

void flash_forward_on_machine(sim::Machine& M, const sim::HeadProblem& p) {
  const int64_t N_q = p.seq_q, d = p.head_dim;

  // FA1 Alg. 1 l. 2 (given): O = (0), l = (0), m = (-inf) in HBM; the machine counts the writes.
  M.hbm().define(T::O, N_q, d);
  M.hbm().define(T::l, N_q, 1);
  M.hbm().define(T::m, N_q, 1);
  M.hbm_fill(2, "O = (0)", T::O, 0.0f);
  M.hbm_fill(2, "l = (0)", T::l, 0.0f);
  M.hbm_fill(2, "m = (-inf)", T::m, -INFINITY);

  // TODO (task 2): FA1 Alg. 1 l. 5–15. Loop j over the T_c = p.Tc() blocks of K/V and i over the
  // T_r = p.Tr() blocks of Q (p.kv_block, p.q_block, p.s_block give the rectangles; the last
  // block is shorter). Per step: M.load the tiles, M.alloc the on-chip ones, compute with
  // M.matmul / row_max_exp_sum / softmax_update / scale_rows / divide_rows, M.store O_i, l_i,
  // m_i, and M.free every tile you allocated.
  todo("task 2, the loops of FA1 Alg. 1 in flash_forward_on_machine (io_aware.cpp)");
}

}  // namespace flashlab::labs::lab3
