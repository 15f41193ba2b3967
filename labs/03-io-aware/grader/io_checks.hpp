// Lab 3's grader helpers: one run of the student's forward on a fresh simulated machine (with
// data, or counting only), the float64 checks of its outputs, and the byte counts to compare with.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <flashlab/core/tensor.hpp>
#include <flashlab/core/tiling.hpp>
#include <flashlab/labs/machine_run.hpp>
#include <flashlab/simulator/simulate.hpp>

namespace flashlab::labs::lab3::grading {

inline constexpr int kBytes = 2;  // fp16 in HBM and SRAM, as on the GPU
inline constexpr int64_t kSram48K = 48 * 1024;
inline constexpr AttentionShape kBig{1, 1, 1024, 1024, 64};

// One run of the student's forward on a fresh machine.
struct Run {
  AttentionShape shape;
  TileSizes tiles;
  int element_bytes = kBytes;
  std::string error;  // flashlab::Error from the machine (SRAM overflow, ...), else ""
  simulator::IoStats stats;
  std::vector<float> O, l, m;
  int64_t sram_left = 0;
  std::string resident;
};
std::string describe(const Run& r);

// `qkv` == nullptr: counting-only mode (no data, no outputs).
Run run_student(const AttentionShape& shape, TileSizes tiles, int64_t sram_bytes,
                const std::vector<Tensor<float>>* qkv, int element_bytes = kBytes);

// "" when O, m and l match float64 (m: the row max of tau Q K^T, l: the sum of e^{S - m}); a
// hint only when O equals what a missing tau gives.
std::string check_outputs(const Run& r, const std::vector<Tensor<float>>& qkv);

// FA1 Alg. 1's HBM traffic in bytes, exact for its loops: FA1 Alg. 1 l. 2 writes O, l, m;
// FA1 Alg. 1 l. 6 reads K, V once; FA1 Alg. 1 l. 8 and 12–13 read and write Q_i, O_i, l_i, m_i
// for every (i, j).
int64_t alg1_bytes(const AttentionShape& s, const TileSizes& t, int element_bytes = kBytes);

// The simulator's own algorithm, counting only, with its default tiles for the SRAM.
simulator::SimForward simulator_run(simulator::Algorithm a, const AttentionShape& s,
                                    int64_t sram_bytes, int element_bytes = kBytes);

// Does a small run leave tiles allocated? Then an overflow is a leak, not too-large tiles.
bool leaks();

// The student's forward at the 1024 x 64 size with the student's tiles for 48 KiB.
Run big_run();

}  // namespace flashlab::labs::lab3::grading
