// Philox-4x32-10 against the published known-answer vectors of Random123 (kat_vectors), and the
// dropout decision built on it.
#include <doctest/doctest.h>

#include <cmath>

#include <flashlab/core/dropout.hpp>
#include <flashlab/core/philox.hpp>

using flashlab::Philox4x32;

namespace {
void check_kat(Philox4x32 counter, uint32_t k0, uint32_t k1, Philox4x32 expected) {
  const Philox4x32 got = flashlab::philox4x32_10(counter, k0, k1);
  for (int i = 0; i < 4; ++i) CHECK(got.x[i] == expected.x[i]);
}
}  // namespace

TEST_CASE("philox4x32-10 reproduces Random123's known-answer vectors") {
  // Random123 kat_vectors lines "philox4x32 10 <ctr x4> <key x2> <expected x4>".
  check_kat({{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}});
  check_kat({{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu, 0xffffffffu,
            {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}});
  check_kat({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u,
            {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}});
}

TEST_CASE("philox4x32-10 with precomputed round keys is the same generator") {
  const flashlab::PhiloxKeys keys = flashlab::philox_round_keys(0xa4093822u, 0x299f31d0u);
  CHECK(keys.k0[0] == 0xa4093822u);
  CHECK(keys.k1[0] == 0x299f31d0u);
  // Random123's key bump: round r adds r times (0x9E3779B9, 0xBB67AE85), wrapping.
  CHECK(keys.k0[9] == uint32_t(0xa4093822u + 9u * 0x9E3779B9u));
  CHECK(keys.k1[9] == uint32_t(0x299f31d0u + 9u * 0xBB67AE85u));
  const Philox4x32 counter = {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
  const Philox4x32 got = flashlab::philox4x32_10(counter, keys);
  const Philox4x32 expected = {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}};
  for (int i = 0; i < 4; ++i) CHECK(got.x[i] == expected.x[i]);
}

// The rule every implementation shares: one Philox call per eight columns of a row, counter
// (col / 8, row, head, batch) and key = seed; column c of the group is kept iff the 16-bit half
// (c % 2) of word (c / 2) is >= drop_below. Written out here from Philox itself.
TEST_CASE("dropout decides each element by its own 16-bit half of one Philox call per 8 columns") {
  const uint64_t seed = 0x0123456789abcdefull;
  const auto d = flashlab::make_dropout(0.3, seed);
  CHECK(d.drop_below == 19661u);  // round(0.3 * 65536) = round(19660.8)
  for (int64_t row : {0, 5, 77})
    for (int64_t col = 0; col < 40; ++col) {
      const Philox4x32 words = flashlab::philox4x32_10({{uint32_t(col / 8), uint32_t(row), 3u, 2u}},
                                                       uint32_t(seed), uint32_t(seed >> 32));
      const uint32_t half = (words.x[(col % 8) / 2] >> (16 * (col % 2))) & 0xFFFFu;
      CHECK(flashlab::dropout_keep(d, 2, 3, row, col) == (half >= d.drop_below));
    }
}

TEST_CASE(
    "dropout rounds p to 16 bits, scales by the realised keep rate, and refuses p it cannot "
    "represent") {
  for (double p : {0.1, 0.25, 1.0 / 3.0, 0.999}) {
    const auto d = flashlab::make_dropout(p, 7);
    const double realised = d.drop_below / 65536.0;
    CHECK(std::abs(realised - p) <= 0.5 / 65536.0);
    CHECK(d.keep_scale == doctest::Approx(1.0 / (1.0 - realised)).epsilon(1e-15));
  }
  CHECK(flashlab::make_dropout(0.25, 7).keep_scale == 4.0 / 3.0);
  CHECK(flashlab::make_dropout(1.0 / 65536.0, 7).drop_below == 1u);
  // Below half a level it would drop nothing, within half a level of 1 everything.
  CHECK_THROWS_AS(flashlab::make_dropout(1e-6, 0), flashlab::Error);
  CHECK_THROWS_AS(flashlab::make_dropout(1.0 - 1e-6, 0), flashlab::Error);
}

TEST_CASE("dropout keeps a fraction 1-p of elements, deterministically per element") {
  for (double p : {0.1, 0.5, 0.9}) {
    const auto d = flashlab::make_dropout(p, 1234);
    int64_t kept = 0, total = 0;
    for (int64_t row = 0; row < 300; ++row)
      for (int64_t col = 0; col < 300; ++col, ++total) {
        const bool keep = flashlab::dropout_keep(d, 1, 2, row, col);
        kept += keep;
        REQUIRE(keep == flashlab::dropout_keep(d, 1, 2, row, col));
      }
    // 90000 Bernoulli draws: the standard deviation of the rate is <= 0.0017, so 0.01 is ~6 sigma.
    CHECK(std::abs(double(kept) / double(total) - (1.0 - p)) < 0.01);
    // The scale is 1 / (1 - p') with p' within 2^-17 of p: relatively within 2^-17 / (1 - p).
    CHECK(d.keep_scale == doctest::Approx(1.0 / (1.0 - p)).epsilon(1e-4));
  }
}

TEST_CASE("dropout masks differ between heads, batches and seeds") {
  const auto a = flashlab::make_dropout(0.5, 1), b = flashlab::make_dropout(0.5, 2);
  int same_seed = 0, same_head = 0, same_batch = 0;
  for (int64_t col = 0; col < 1000; ++col) {
    const bool x = flashlab::dropout_keep(a, 0, 0, 7, col);
    same_seed += x == flashlab::dropout_keep(b, 0, 0, 7, col);
    same_head += x == flashlab::dropout_keep(a, 0, 1, 7, col);
    same_batch += x == flashlab::dropout_keep(a, 1, 0, 7, col);
  }
  // Independent fair coins agree about half the time (std 16 of 1000).
  CHECK(same_seed > 400);
  CHECK(same_seed < 600);
  CHECK(same_head > 400);
  CHECK(same_head < 600);
  CHECK(same_batch > 400);
  CHECK(same_batch < 600);
}

TEST_CASE("dropout probability outside [0, 1) is refused") {
  CHECK_THROWS_AS(flashlab::make_dropout(1.0, 0), flashlab::Error);
  CHECK_THROWS_AS(flashlab::make_dropout(-0.1, 0), flashlab::Error);
  CHECK_THROWS_AS(flashlab::make_dropout(std::nan(""), 0), flashlab::Error);
  CHECK_FALSE(flashlab::make_dropout(0.0, 0).enabled);
}
