// Grader of lab 3 (README.md), part 1: the student's FA1 Alg. 1 runs on the simulator's machine;
// graded on its outputs (against float64) and on the HBM bytes the machine counted, per tensor
// and in total, against the IO of FA1 Alg. 1 (Theorem 2) and the simulator's own forward.
#include <cmath>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <flashlab/core/options.hpp>
#include <flashlab/core/tiling.hpp>
#include <flashlab/labs/grading.hpp>
#include <flashlab/reference/attention.hpp>
#include <flashlab/simulator/algorithms/tiling_fit.hpp>
#include <flashlab/simulator/simulate.hpp>

#include "io_aware.hpp"
#include "io_checks.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab3::grading;
using namespace flashlab::simulator;
using flashlab::AttentionShape;
using flashlab::TileSizes;
using T = TensorId;

}  // namespace

FLASHLAB_LAB_TEST("your tiles fit a 48 KiB SRAM at N=1024 and d=64", 5) {
  const Run r = big_run();
  if (r.tiles.block_rows < 1 || r.tiles.block_cols < 1)
    FLASHLAB_LAB_FAIL(
        "choose_tiles(49152, 2, 64) returned B_r=" + std::to_string(r.tiles.block_rows) +
        ", B_c=" + std::to_string(r.tiles.block_cols) + "; both must be >= 1");
  if (r.error.empty()) return;
  std::string hint;
  if (leaks()) {
    hint =
        "Your forward leaves tiles allocated after it returns (see the test 'every SRAM "
        "tile is freed'), so the SRAM fills up over the iterations.";
  } else {
    FitQuery q;
    q.shape = kBig;
    q.sram_bytes = kSram48K;
    q.element_bytes = kBytes;
    const SramFootprint f = sram_footprint(q, r.tiles);
    const TileSizes bytes_as_elements = flashlab::labs::lab3::choose_tiles(kSram48K, 1, 64);
    hint = "The simulator's FA1 Alg. 1 holds " + std::to_string(f.elements) +
           " elements = " + std::to_string(f.bytes) +
           " bytes with these tiles; the SRAM holds 49152 bytes = " + "24576 elements. ";
    if (bytes_as_elements.block_rows == r.tiles.block_rows &&
        bytes_as_elements.block_cols == r.tiles.block_cols)
      hint +=
          "Your choose_tiles gives the same tiles for 1- and 2-byte elements, so it takes M "
          "in bytes: the rule of FA1 Alg. 1 l. 1 counts M in elements (sram_bytes / "
          "element_bytes).";
    else
      hint +=
          "The constant 4 of FA1 Alg. 1 l. 1 is asymptotic: shrink B_c until every tile your "
          "forward "
          "holds at once fits (README, 'The SRAM budget').";
  }
  FLASHLAB_LAB_FAIL("with " + describe(r) + " the run stopped: " + r.error + "\n" + hint);
}

FLASHLAB_LAB_TEST("one tile: the forward matches the reference", 5) {
  const AttentionShape s{1, 1, 16, 16, 8};
  const auto qkv = random_qkv(1, s);
  FLASHLAB_LAB_REQUIRE_OK(check_outputs(run_student(s, {16, 16}, 192 * 1024, &qkv), qkv));
}

FLASHLAB_LAB_TEST("many tiles: the forward matches the reference", 10) {
  auto check = [](const AttentionShape& s) {
    const auto qkv = random_qkv(2, s);
    return check_outputs(run_student(s, {16, 24}, 192 * 1024, &qkv), qkv);
  };
  const std::string why = check({1, 1, 100, 76, 16});
  if (why.empty()) return;
  const bool whole_blocks_ok = check({1, 1, 96, 72, 16}).empty();
  FLASHLAB_LAB_FAIL(why + (whole_blocks_ok
                               ? ". With N_q = 96 and N_k = 72 (whole blocks of 16 x 24) it is "
                                 "right, so the last, shorter blocks go wrong: use "
                                 "p.q_block(i, d), p.kv_block(j, d), p.s_block(i, j) for the "
                                 "rectangles."
                               : ""));
}

FLASHLAB_LAB_TEST("every SRAM tile is freed", 5) {
  const AttentionShape s{1, 1, 64, 48, 16};
  const auto qkv = random_qkv(3, s);
  const Run r = run_student(s, {16, 16}, 1 << 24, &qkv);
  FLASHLAB_LAB_REQUIRE_OK(check_outputs(r, qkv));
  if (r.sram_left > 0)
    FLASHLAB_LAB_FAIL(std::to_string(r.sram_left) +
                      " bytes of SRAM are still allocated after the "
                      "run: " +
                      r.resident +
                      ". M.free every tile you M.load or M.alloc, in the "
                      "loop where you made it; a tile made per (i, j) and never freed fills the "
                      "SRAM after a few iterations.");
}

FLASHLAB_LAB_TEST("K and V are read from HBM exactly once", 15) {
  const AttentionShape s{1, 1, 256, 256, 32};
  const auto qkv = random_qkv(4, s);
  const Run r = run_student(s, {32, 32}, 192 * 1024, &qkv);
  const std::string wrong = check_outputs(r, qkv);
  if (!wrong.empty())
    FLASHLAB_LAB_FAIL("the byte counts of a wrong forward mean nothing; fix the outputs first: " +
                      wrong);
  const int64_t size = s.seq_k * s.head_dim * kBytes;
  for (const T t : {T::K, T::V}) {
    const int64_t got = r.stats[t].bytes_read;
    if (got != size)
      FLASHLAB_LAB_FAIL(std::string(tensor_name(t)) + " was read " + std::to_string(got) +
                        " bytes = " + fmt(double(got) / double(size)) + " times its size (" +
                        std::to_string(size) + " bytes) with " + describe(r) + ", T_r = 8. " +
                        (got == 8 * size
                             ? "That is T_r times: K_j, V_j were loaded inside the inner loop. "
                               "FA1 Alg. 1 l. 6 loads them once per outer iteration j and keeps "
                               "them on chip for the whole inner loop over i."
                             : "FA1 Alg. 1 l. 6 loads each K_j, V_j once."));
  }
}

FLASHLAB_LAB_TEST("Q O l m move once per outer iteration and S stays on chip", 10) {
  const AttentionShape s{1, 1, 256, 256, 32};
  const auto qkv = random_qkv(4, s);
  const Run r = run_student(s, {32, 32}, 192 * 1024, &qkv);
  const std::string wrong = check_outputs(r, qkv);
  if (!wrong.empty())
    FLASHLAB_LAB_FAIL("the byte counts of a wrong forward mean nothing; fix the outputs first: " +
                      wrong);
  const int64_t Tc = 8, Nq = s.seq_q, d = s.head_dim;
  struct Limit {
    T t;
    int64_t read, written;
  };
  for (const Limit& lim :
       {Limit{T::Q, Tc * Nq * d, 0}, Limit{T::O, Tc * Nq * d, (Tc + 1) * Nq * d},
        Limit{T::l, Tc * Nq, (Tc + 1) * Nq}, Limit{T::m, Tc * Nq, (Tc + 1) * Nq}}) {
    const TensorTraffic& got = r.stats[lim.t];
    if (got.bytes_read > lim.read * kBytes || got.bytes_written > lim.written * kBytes)
      FLASHLAB_LAB_FAIL(std::string(tensor_name(lim.t)) + ": read " +
                        std::to_string(got.bytes_read) + " and written " +
                        std::to_string(got.bytes_written) + " bytes with " + describe(r) +
                        "; FA1 Alg. 1 moves at most " + std::to_string(lim.read * kBytes) +
                        " and " + std::to_string(lim.written * kBytes) +
                        " (one read and one write of each block per outer iteration, T_c = 8, "
                        "plus FA1 Alg. 1 l. 2's initialization). Load each tile once per (i, j).");
  }
  for (int k = 0; k < flashlab::simulator::kTensorCount; ++k) {
    const T t = static_cast<T>(k);
    if (t == T::Q || t == T::K || t == T::V || t == T::O || t == T::l || t == T::m) continue;
    if (r.stats[t].bytes_read + r.stats[t].bytes_written > 0)
      FLASHLAB_LAB_FAIL(std::string(tensor_name(t)) + " moved " +
                        std::to_string(r.stats[t].bytes_read + r.stats[t].bytes_written) +
                        " bytes through HBM: S_ij and P~_ij live on chip only, that is the point "
                        "of FA1 Alg. 1.");
  }
}

FLASHLAB_LAB_TEST("total HBM traffic at N=1024 d=64 and 48 KiB is within the IO bound", 10) {
  const Run r = big_run();
  if (!r.error.empty())
    FLASHLAB_LAB_FAIL("the run did not finish (see the test 'your tiles fit a 48 KiB SRAM'): " +
                      r.error);
  const int64_t got = r.stats.total_bytes(), bound = alg1_bytes(kBig, r.tiles);
  const SimForward lib = simulator_run(Algorithm::Flash, kBig, kSram48K);
  const int64_t Tc = flashlab::ceil_div(1024, r.tiles.block_cols);
  const std::string tiles =
      "Your " + describe(r) + " gives T_c = " + std::to_string(Tc) + " passes over Q and O";
  if (got > bound)
    FLASHLAB_LAB_FAIL(tiles + " and " + std::to_string(got) +
                      " bytes, more than FA1 Alg. 1 moves with "
                      "these tiles: 2 N d + N d + 2 N + T_c N (3d + 4) elements = " +
                      std::to_string(bound) +
                      " bytes. Some tile moves more often than once per "
                      "(i, j); the per-tensor tests say which.");
  if (double(got) > 1.10 * double(lib.stats.total_bytes()))
    FLASHLAB_LAB_FAIL(tiles + " and " + std::to_string(got) +
                      " bytes; the paper's rule shrunk to "
                      "fit (B_r=" +
                      std::to_string(lib.tiles.block_rows) +
                      ", B_c=" + std::to_string(lib.tiles.block_cols) +
                      ", T_c = " + std::to_string(flashlab::ceil_div(1024, lib.tiles.block_cols)) +
                      ") moves " + std::to_string(lib.stats.total_bytes()) +
                      " bytes. Q and O traffic is T_c N d: choose the largest B_c that fits "
                      "(Theorem 2: Theta(N^2 d^2 / M)).");
}

FLASHLAB_LAB_TEST("answers: block sizes for a 48 KiB SRAM", 5) {
  const TileSizes paper = flashlab::paper_tiling(kSram48K / kBytes, 64);
  FitQuery q;
  q.shape = kBig;
  q.sram_bytes = kSram48K;
  q.element_bytes = kBytes;
  int64_t fit_bc = 0;
  for (int64_t bc = 1; bc <= 1024; ++bc) {
    try {
      require_tiles_fit(q, {64, bc});
      fit_bc = bc;
    } catch (const flashlab::Error&) {
      break;
    }
  }
  FLASHLAB_LAB_REQUIRE_OK(check_answers({
      {"paper_Bc", double(paper.block_cols), 0.0, "Question 1: M = 49152 / 2 elements."},
      {"paper_Br", double(paper.block_rows), 0.0, "Question 1: B_r = min(B_c, d)."},
      {"fit_Bc", double(fit_bc), 0.0,
       "Question 2: the largest B_c with 2 B_c d + 2 B_r d + B_r B_c + 8 B_r <= M (B_r = 64)."},
  }));
}

FLASHLAB_LAB_TEST("answers: bytes moved at N=1024 d=64 and 48 KiB", 10) {
  const SimForward flash = simulator_run(Algorithm::Flash, kBig, kSram48K);
  const SimForward standard = simulator_run(Algorithm::Standard, kBig, kSram48K);
  const std::string how =
      " Check with: flashlab compare, or simulate_forward in counting-only "
      "mode (docs/simulator.md).";
  FLASHLAB_LAB_REQUIRE_OK(check_answers({
      {"flash_Q_read_bytes", double(flash.stats[T::Q].bytes_read), 1e-6,
       "Question 3: T_c N d bytes-per-element." + how},
      {"flash_total_bytes", double(flash.stats.total_bytes()), 1e-6,
       "Question 3: 2 N d + N d + 2 N + T_c N (3d + 4) elements." + how},
      {"standard_total_bytes", double(standard.stats.total_bytes()), 1e-6,
       "Question 4: FA1 Alg. 0 writes and reads S and P (docs/simulator.md)." + how},
  }));
}
