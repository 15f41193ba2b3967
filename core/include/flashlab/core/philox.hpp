// Philox-4x32 counter-based random numbers (Salmon et al., SC'11; Random123), with the number of
// rounds a template parameter: 10 (Random123's default) for the random inputs and block masks, 7
// for dropout (core/dropout.hpp says why). Stateless: the same (counter, key) gives the same 4
// words on the CPU and on the GPU, which is what lets the FlashAttention backward regenerate the
// forward's dropout mask (FA1 Alg. 4 l. 14).
#pragma once

#include <cstdint>

#include <flashlab/core/host_device.hpp>

namespace flashlab {

struct Philox4x32 {
  uint32_t x[4];
};

namespace detail {
inline constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
inline constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
inline constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;  // golden ratio
inline constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;  // sqrt(3) - 1

FLASHLAB_HD void mulhilo32(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t product = uint64_t{a} * uint64_t{b};
  hi = static_cast<uint32_t>(product >> 32);
  lo = static_cast<uint32_t>(product);
}
}  // namespace detail

// The key of every round of Philox-4x32-R: round r uses (key0 + r W0, key1 + r W1), whatever the
// counter. Derived once per seed (make_dropout), the GPU reads them as constants instead of adding
// W0 and W1 again in every call.
template <int kRounds>
struct PhiloxKeys {
  uint32_t k0[kRounds];
  uint32_t k1[kRounds];
};

template <int kRounds>
FLASHLAB_HD PhiloxKeys<kRounds> philox_round_keys(uint32_t key0, uint32_t key1) {
  PhiloxKeys<kRounds> keys{};
  for (int round = 0; round < kRounds; ++round) {
    keys.k0[round] = key0 + uint32_t(round) * detail::kPhiloxW0;
    keys.k1[round] = key1 + uint32_t(round) * detail::kPhiloxW1;
  }
  return keys;
}

// kRounds rounds of the Philox S-box over a 128-bit counter, with the rounds' keys: two 32 x 32
// -> 64-bit products per round, which are what a call costs on a GPU.
template <int kRounds>
FLASHLAB_HD Philox4x32 philox4x32(Philox4x32 counter, const PhiloxKeys<kRounds>& keys) {
  for (int round = 0; round < kRounds; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    detail::mulhilo32(detail::kPhiloxM0, counter.x[0], hi0, lo0);
    detail::mulhilo32(detail::kPhiloxM1, counter.x[2], hi1, lo1);
    counter = {
        {hi1 ^ counter.x[1] ^ keys.k0[round], lo1, hi0 ^ counter.x[3] ^ keys.k1[round], lo0}};
  }
  return counter;
}

// The same with a 64-bit key (key0, key1), as Random123 states it.
template <int kRounds>
FLASHLAB_HD Philox4x32 philox4x32(Philox4x32 counter, uint32_t key0, uint32_t key1) {
  return philox4x32<kRounds>(counter, philox_round_keys<kRounds>(key0, key1));
}

}  // namespace flashlab
