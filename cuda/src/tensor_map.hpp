// Tensor maps for the TMA copies (tma.cuh): the host-side description of a [matrices, seq, d]
// tensor of 16-bit elements that the copy engine reads tiles of.
#pragma once

#include <cuda.h>  // CUtensorMap and its enums only: the encoder is found at run time

#include <cstdint>

#include <flashlab/cuda/api.hpp>

namespace flashlab::cuda {

// The map of `matrices` consecutive [seq, head_dim] row-major matrices starting at `base`
// (one per (batch, head)), read in boxes of box_rows rows x 64 columns (one 128-byte swizzle
// panel; a tile of head_dim columns is head_dim / 64 boxes). Rows past seq read as zeros, so a
// box never reaches into the next matrix. Throws naming the problem when the driver refuses
// (alignment, sizes) or has no tensor-map encoder.
CUtensorMap make_tile_map(const void* base, DType dtype, int64_t head_dim, int64_t seq,
                          int64_t matrices, int box_rows);

}  // namespace flashlab::cuda
