// Philox-4x32-10 counter-based random numbers (Salmon et al., SC'11; Random123). Stateless:
// the same (counter, key) gives the same 4 words on the CPU and on the GPU, which is what lets
// the FlashAttention backward regenerate the forward's dropout mask (FA1 Alg. 4 l. 14).
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

// Ten rounds of the Philox S-box over a 128-bit counter with a 64-bit key.
FLASHLAB_HD Philox4x32 philox4x32_10(Philox4x32 counter, uint32_t key0, uint32_t key1) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key0 += detail::kPhiloxW0;
      key1 += detail::kPhiloxW1;
    }
    uint32_t hi0, lo0, hi1, lo1;
    detail::mulhilo32(detail::kPhiloxM0, counter.x[0], hi0, lo0);
    detail::mulhilo32(detail::kPhiloxM1, counter.x[2], hi1, lo1);
    counter = {{hi1 ^ counter.x[1] ^ key0, lo1, hi0 ^ counter.x[3] ^ key1, lo0}};
  }
  return counter;
}

}  // namespace flashlab
