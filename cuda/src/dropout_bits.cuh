// Which of a thread's elements of P survive dropout (FA1 Alg. 2 l. 14, FA1 Alg. 4 l. 14), as
// bits, with each Philox call made by one lane and shared with the lanes that hold its elements.
// One call decides eight consecutive key columns of one row (core's dropout_random_words: word w
// holds columns 2 w and 2 w + 1, one per half). In the mma accumulator layout (mma.cuh) those
// eight elements lie in four lanes (the forward's S_ij: a row's columns 2 (lane % 4) + {0, 1} of
// each 8-column tile, so lane q reads word q) or in eight (the backward's S^T, whose rows are
// keys: lanes 4 apart, one key each). A lane that computed every call it reads would make two
// calls per four of its elements in the forward and four in the backward. Here each lane of the
// four or eight computes a different call, compares its eight numbers with the threshold, and the
// lanes trade the eight keep bits by a transpose of a bit matrix across lanes (two or three
// shuffles per eight tiles): a quarter of the calls in the forward, an eighth in the backward,
// and the same dropped elements as the reference.
#pragma once

#include <cstdint>

#include <flashlab/core/dropout.hpp>

namespace flashlab::cuda {

// Four keep bits per 8-column accumulator tile (bit e for element e, mma.cuh's order), eight
// tiles to a 32-bit word.
template <int kTiles>
struct KeepBits {
  uint32_t word[(kTiles + 7) / 8] = {};

  // Bits 8 b .. 8 b + 7 counted over the words: tiles 2 b and 2 b + 1.
  __device__ __forceinline__ void set_byte(int b, uint32_t byte) {
    word[b / 4] |= byte << (8 * (b % 4));
  }
  __device__ __forceinline__ bool keep(int tile, int e) const {
    return (word[tile / 8] >> (4 * (tile % 8) + e)) & 1u;
  }
};

// Bit c set when column 8 (col / 8) + c of one call survives (core's dropout_keep). A word's high
// half is >= drop_below iff the word is >= drop_below << 16, and its low half iff the word
// shifted left by 16 is: no half is extracted.
__device__ __forceinline__ uint32_t keep_byte(const Philox4x32& words, uint32_t drop_below) {
  const uint32_t threshold = drop_below << 16;
  uint32_t bits = 0;
#pragma unroll
  for (int w = 0; w < 4; ++w) {
    const uint32_t low = (words.x[w] << 16) >= threshold, high = words.x[w] >= threshold;
    bits |= (low | high << 1) << (2 * w);
  }
  return bits;
}

// One step of a transpose of bit fields across lanes: the lanes that differ in lane bit
// `lane_xor` trade the fields whose index differs from theirs in the matching bit. `low` marks
// the fields whose index has that bit clear, kShift is their distance to the partner field.
// After one step per index bit, field f of lane l holds what field l of lane f held.
template <int kShift>
__device__ __forceinline__ uint32_t transpose_step(uint32_t word, uint32_t low, int lane_xor,
                                                   int lane) {
  const uint32_t theirs = __shfl_xor_sync(0xffffffffu, word, lane_xor);
  return lane & lane_xor ? (word & ~low) | ((theirs & ~low) >> kShift)
                         : (word & low) | ((theirs & low) << kShift);
}

namespace fwd {

// The keep bits of this thread's elements of S_ij (kMTiles tiles of 16 rows, fwd_softmax.cuh):
// rows r_lo + 16 mt + 8 r, columns col0 + 8 t + 2 (lane % 4) + {0, 1}, col0 a multiple of 8. The
// four lanes of a row pair (lane / 4 equal) read the calls of both rows and of every tile; per
// pair of tiles, lane j = lane % 4 computes the call of row r = j % 2 and tile 2 p + j / 2 into
// byte p, whose 2-bit field q holds the columns lane q reads. Transposing those fields across the
// four lanes leaves in byte p of lane q its fields from calls j = 0..3: tile 2 p's rows r = 0, 1
// (bits 0-3, elements 0-3) and tile 2 p + 1's (bits 4-7), KeepBits' layout.
template <int kMTiles, int kNTiles>
__device__ __forceinline__ KeepBits<kMTiles * kNTiles> dropout_keep_bits(const DropoutParams& d,
                                                                         int batch, int head,
                                                                         int r_lo, int col0,
                                                                         int lane) {
  static_assert(kNTiles % 2 == 0, "a byte of keep bits covers a pair of tiles");
  const int j = lane % 4;
  KeepBits<kMTiles * kNTiles> keep;
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
    for (int pair = 0; pair < kNTiles / 2; ++pair) {
      const int row = r_lo + 16 * mt + 8 * (j % 2), col = col0 + 8 * (2 * pair + j / 2);
      keep.set_byte(mt * kNTiles / 2 + pair,
                    keep_byte(dropout_random_words(d, batch, head, row, col), d.drop_below));
    }
#pragma unroll
  for (int w = 0; w < int(sizeof(keep.word) / 4); ++w) {
    keep.word[w] = transpose_step<2>(keep.word[w], 0x33333333u, 1, lane);
    keep.word[w] = transpose_step<4>(keep.word[w], 0x0F0F0F0Fu, 2, lane);
  }
  return keep;
}

}  // namespace fwd

namespace bwd {

// The keep bits of this thread's elements of S^T (kQTiles tiles of 8 queries,
// flash_bwd_common.cuh): element e of tile t is key key_lo + 8 (e / 2), query
// row0 + 8 t + 2 (lane % 4) + e % 2, with key_lo = (a multiple of 8) + lane / 4. The eight lanes
// with one lane % 4 read the same calls (two queries, two groups of eight keys per tile), one
// bit of each: per pair of tiles, lane c = lane / 4 computes call c (tile 2 p + c / 4, keys
// + 8 ((c / 2) % 2), query + c % 2) into byte p, bit k for key k of its group. Transposing the
// 8 x 8 bits across the eight lanes leaves in byte p of lane c bit c' of call c' for its key:
// element e = c' % 4 of tile 2 p + c' / 4, KeepBits' layout.
template <int kQTiles>
__device__ __forceinline__ KeepBits<kQTiles> dropout_keep_bits_transposed(const DropoutParams& d,
                                                                          int batch, int head,
                                                                          int key_lo, int row0,
                                                                          int lane) {
  static_assert(kQTiles % 2 == 0, "a byte of keep bits covers a pair of tiles");
  const int c = lane / 4;
  const int keys = key_lo - c + 8 * ((c / 2) % 2);
  KeepBits<kQTiles> keep;
#pragma unroll
  for (int pair = 0; pair < kQTiles / 2; ++pair) {
    const int row = row0 + 8 * (2 * pair + c / 4) + 2 * (lane % 4) + c % 2;
    keep.set_byte(pair, keep_byte(dropout_random_words(d, batch, head, row, keys), d.drop_below));
  }
#pragma unroll
  for (int w = 0; w < int(sizeof(keep.word) / 4); ++w) {
    keep.word[w] = transpose_step<1>(keep.word[w], 0x55555555u, 4, lane);
    keep.word[w] = transpose_step<2>(keep.word[w], 0x33333333u, 8, lane);
    keep.word[w] = transpose_step<4>(keep.word[w], 0x0F0F0F0Fu, 16, lane);
  }
  return keep;
}

}  // namespace bwd
}  // namespace flashlab::cuda
