// Which of a thread's elements of P survive dropout (FA1 Alg. 2 l. 14, FA1 Alg. 4 l. 14), as
// bits, with each Philox call shared by the lanes that hold its elements. One call gives the
// four words of one row of P and four consecutive key columns (core's dropout_random_words); in
// the mma accumulator layout (mma.cuh) those four elements lie in two lanes (the forward's S_ij:
// a row's columns 2 (lane % 4) + {0, 1} of each 8-column tile) or in four (the backward's S^T,
// whose rows are keys: lanes 4 apart). A lane that computed every call it reads would make two
// calls per four of its elements in the forward and four in the backward, using half or a
// quarter of each call's words. Here each lane of such a pair or quad computes a different one
// of the calls they all read, and they trade its keep bits by shuffles: half the Philox calls in
// the forward, a quarter in the backward, and the same dropped elements as the reference.
#pragma once

#include <cstdint>

#include <flashlab/core/dropout.hpp>

namespace flashlab::cuda {

// Four keep bits per 8-column accumulator tile (bit e for element e, mma.cuh's order), eight
// tiles to a 32-bit word.
template <int kTiles>
struct KeepBits {
  uint32_t word[(kTiles + 7) / 8] = {};

  __device__ __forceinline__ void set(int tile, uint32_t nibble) {
    word[tile / 8] |= nibble << (4 * (tile % 8));
  }
  __device__ __forceinline__ bool keep(int tile, int e) const {
    return (word[tile / 8] >> (4 * (tile % 8) + e)) & 1u;
  }
};

// Bit w set when word w of one call keeps its element (core's dropout_keep).
__device__ __forceinline__ uint32_t keep_nibble(const Philox4x32& words, uint32_t drop_below) {
  return uint32_t(words.x[0] >= drop_below) | uint32_t(words.x[1] >= drop_below) << 1 |
         uint32_t(words.x[2] >= drop_below) << 2 | uint32_t(words.x[3] >= drop_below) << 3;
}

// In each nibble, the bit pair from bit 2 h on (h = 0, 1) or the single bit s, at the bottom.
constexpr uint32_t kNibblePairs = 0x33333333u, kNibbleBits = 0x11111111u;

namespace fwd {

// The keep bits of this thread's elements of S_ij (kMTiles tiles of 16 rows, fwd_softmax.cuh):
// rows r_lo + 16 mt + 8 r, columns col0 + 8 t + 2 (lane % 4) + {0, 1}, col0 a multiple of 4.
// Lanes 2 k and 2 k + 1 hold the four columns of one call in both of their rows: the even lane
// computes the call of the upper row (r = 0), the odd one the lower row's, and each takes its two
// bits of the other row from its partner.
template <int kMTiles, int kNTiles>
__device__ __forceinline__ KeepBits<kMTiles * kNTiles> dropout_keep_bits(const DropoutParams& d,
                                                                         int batch, int head,
                                                                         int r_lo, int col0,
                                                                         int lane) {
  const int odd = lane & 1;
  KeepBits<kMTiles * kNTiles> mine, keep;
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
    for (int t = 0; t < kNTiles; ++t) {
      const int row = r_lo + 16 * mt + 8 * odd, col = col0 + 8 * t + 2 * (lane % 4);
      mine.set(mt * kNTiles + t,
               keep_nibble(dropout_random_words(d.seed, batch, head, row, col), d.drop_below));
    }
#pragma unroll
  for (int w = 0; w < int(sizeof(mine.word) / 4); ++w) {
    const uint32_t theirs = __shfl_xor_sync(0xffffffffu, mine.word[w], 1);
    const uint32_t upper = odd ? theirs : mine.word[w], lower = odd ? mine.word[w] : theirs;
    // This lane's columns are words 2 odd and 2 odd + 1 of each call: elements 0, 1 (row r_lo)
    // from the upper call, 2, 3 (row r_lo + 8) from the lower.
    keep.word[w] =
        ((upper >> (2 * odd)) & kNibblePairs) | (((lower >> (2 * odd)) & kNibblePairs) << 2);
  }
  return keep;
}

}  // namespace fwd

namespace bwd {

// The keep bits of this thread's elements of S^T (kQTiles tiles of 8 queries,
// flash_bwd_common.cuh): element e of tile t is key key_lo + 8 (e / 2), query
// row0 + 8 t + 2 (lane % 4) + e % 2, with key_lo = (a multiple of 8) + lane / 4. The four keys
// of a call lie in the lanes whose lane / 4 differ in their two low bits (s = (lane / 4) % 4
// holds word s), and those four lanes read the same four calls in every tile, one per element:
// lane s computes element s's, and each lane gathers bit s of every call from the lane that
// made it.
template <int kQTiles>
__device__ __forceinline__ KeepBits<kQTiles> dropout_keep_bits_transposed(const DropoutParams& d,
                                                                          int batch, int head,
                                                                          int key_lo, int row0,
                                                                          int lane) {
  const int s = (lane / 4) % 4;
  KeepBits<kQTiles> mine, keep;
#pragma unroll
  for (int t = 0; t < kQTiles; ++t) {
    const int key = key_lo + 8 * (s / 2), row = row0 + 8 * t + 2 * (lane % 4) + s % 2;
    mine.set(t, keep_nibble(dropout_random_words(d.seed, batch, head, row, key), d.drop_below));
  }
#pragma unroll
  for (int w = 0; w < int(sizeof(mine.word) / 4); ++w)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const uint32_t theirs = __shfl_sync(0xffffffffu, mine.word[w], (lane & ~12) | (e << 2));
      keep.word[w] |= ((theirs >> s) & kNibbleBits) << e;
    }
  return keep;
}

}  // namespace bwd
}  // namespace flashlab::cuda
