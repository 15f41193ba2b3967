// The rate at which the GPU draws dropout decisions as the kernels do (core/dropout.hpp's rule:
// one Philox call decides eight elements, compared with the threshold into eight keep bits,
// cuda/src/dropout_bits.cuh): one of the microbenchmarks the simulator's performance model takes
// its constants from (docs/simulator.md, "Where the constants come from"), never from the
// attention times it predicts.
#pragma once

namespace flashlab::cuda {

// Draws per second over the whole GPU: every SM full of threads, each computing eight
// independent calls per iteration with the kernels' own functions (dropout_random_words,
// keep_byte), the round keys read from the kernel's parameters as the attention kernels read
// them. Median of CUDA-event timings after warm-up; throws flashlab::Error on a CUDA failure.
double measure_dropout_draws_per_s();

}  // namespace flashlab::cuda
