// Philox-4x32-10 and -7 against the published known-answer vectors of Random123 (kat_vectors),
// and the dropout decision built on the seven-round one.
#include <doctest/doctest.h>

#include <cmath>

#include <flashlab/core/dropout.hpp>
#include <flashlab/core/philox.hpp>

using flashlab::Philox4x32;

namespace {
template <int kRounds>
void check_kat(Philox4x32 counter, uint32_t k0, uint32_t k1, Philox4x32 expected) {
  const Philox4x32 got = flashlab::philox4x32<kRounds>(counter, k0, k1);
  for (int i = 0; i < 4; ++i) CHECK(got.x[i] == expected.x[i]);
}
}  // namespace

TEST_CASE("philox4x32-10 and -7 (dropout's) reproduce Random123's known-answer vectors") {
  // Random123 kat_vectors lines "philox4x32 R <ctr x4> <key x2> <expected x4>", R = 10 and 7,
  // which share their three inputs.
  struct Kat {
    Philox4x32 counter;
    uint32_t k0, k1;
    Philox4x32 ten, seven;
  };
  const Kat kats[] = {
      {{{0, 0, 0, 0}},
       0,
       0,
       {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
       {{0x5f6fb709u, 0x0d893f64u, 0x4f121f81u, 0x4f730a48u}}},
      {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
       0xffffffffu,
       0xffffffffu,
       {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
       {{0x5207ddc2u, 0x45165e59u, 0x4d8ee751u, 0x8c52f662u}}},
      {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
       0xa4093822u,
       0x299f31d0u,
       {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
       {{0x4dfccabau, 0x190a87f0u, 0xc47362bau, 0xb6b5242au}}},
  };
  for (const Kat& kat : kats) {
    check_kat<10>(kat.counter, kat.k0, kat.k1, kat.ten);
    check_kat<7>(kat.counter, kat.k0, kat.k1, kat.seven);
  }
  CHECK(flashlab::kDropoutPhiloxRounds == 7);
}

TEST_CASE("philox4x32 with precomputed round keys is the same generator") {
  const auto keys = flashlab::philox_round_keys<10>(0xa4093822u, 0x299f31d0u);
  CHECK(keys.k0[0] == 0xa4093822u);
  CHECK(keys.k1[0] == 0x299f31d0u);
  // Random123's key bump: round r adds r times (0x9E3779B9, 0xBB67AE85), wrapping.
  CHECK(keys.k0[9] == uint32_t(0xa4093822u + 9u * 0x9E3779B9u));
  CHECK(keys.k1[9] == uint32_t(0x299f31d0u + 9u * 0xBB67AE85u));
  const Philox4x32 counter = {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
  const Philox4x32 got = flashlab::philox4x32<10>(counter, keys);
  const Philox4x32 expected = {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}};
  for (int i = 0; i < 4; ++i) CHECK(got.x[i] == expected.x[i]);
  // make_dropout's keys are the seed's seven round keys.
  const auto d = flashlab::make_dropout(0.5, 0x299f31d0a4093822ull);
  const auto keys7 = flashlab::philox_round_keys<7>(0xa4093822u, 0x299f31d0u);
  for (int r = 0; r < 7; ++r) {
    CHECK(d.keys.k0[r] == keys7.k0[r]);
    CHECK(d.keys.k1[r] == keys7.k1[r]);
  }
}

// The rule every implementation shares: one Philox-4x32-7 call per eight columns of a row, counter
// (col / 8, row, head, batch) and key = seed; column c of the group is kept iff the 16-bit half
// (c % 2) of word (c / 2) is >= drop_below. Written out here from Philox itself.
TEST_CASE("dropout decides each element by its own 16-bit half of one Philox call per 8 columns") {
  const uint64_t seed = 0x0123456789abcdefull;
  const auto d = flashlab::make_dropout(0.3, seed);
  CHECK(d.drop_below == 19661u);  // round(0.3 * 65536) = round(19660.8)
  for (int64_t row : {0, 5, 77})
    for (int64_t col = 0; col < 40; ++col) {
      const Philox4x32 words = flashlab::philox4x32<7>({{uint32_t(col / 8), uint32_t(row), 3u, 2u}},
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

// Seven rounds must still look random where dropout looks: over the counters one head's mask
// uses, neighbouring in row (counter word 1) and in column (word 0, or the other half of one
// word). Chi-square tests with 15 degrees of freedom over 65536 elements: a bound of 50 is
// exceeded by chance with probability ~1e-5, while five rounds or fewer fail it (five: 222 for
// neighbouring rows; six and seven pass).
TEST_CASE("dropout's 16-bit numbers are uniform and neighbours independent") {
  const auto d = flashlab::make_dropout(0.5, 0x5eed5eedull);
  auto number = [&](int64_t row, int64_t col) {
    return flashlab::dropout_random_half(flashlab::dropout_random_words(d, 0, 0, row, col), col);
  };
  auto chi_square = [](const int64_t(&counts)[16], int64_t total) {
    const double expected = double(total) / 16.0;
    double chi = 0;
    for (const int64_t c : counts)
      chi += (double(c) - expected) * (double(c) - expected) / expected;
    return chi;
  };
  int64_t alone[16] = {}, next_col[16] = {}, next_row[16] = {}, next_group[16] = {};
  int64_t total = 0;
  for (int64_t row = 0; row < 256; ++row)
    for (int64_t col = 0; col < 256; ++col, ++total) {
      const uint32_t x = number(row, col);
      ++alone[x >> 12];  // top 4 bits
      // Top 2 bits of each of a pair: 16 joint cells.
      ++next_col[(x >> 14) * 4 + (number(row, col ^ 1) >> 14)];
      ++next_row[(x >> 14) * 4 + (number(row + 1, col) >> 14)];
      ++next_group[(x >> 14) * 4 + (number(row, col + 8) >> 14)];
    }
  CHECK(chi_square(alone, total) < 50.0);
  CHECK(chi_square(next_col, total) < 50.0);
  CHECK(chi_square(next_row, total) < 50.0);
  CHECK(chi_square(next_group, total) < 50.0);
}
