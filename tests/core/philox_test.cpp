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
    CHECK(d.keep_scale == doctest::Approx(1.0 / (1.0 - p)));
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
