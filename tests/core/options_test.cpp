// Shape and options validation, the mask rule, and the paper's tiling rule.
#include <doctest/doctest.h>

#include <cmath>
#include <flashlab/core/options.hpp>
#include <flashlab/core/tiling.hpp>

using namespace flashlab;

TEST_CASE("shapes with a zero or negative dimension are refused, naming the dimension") {
  for (int which = 0; which < 5; ++which) {
    AttentionShape s{2, 3, 5, 7, 11};
    int64_t* fields[] = {&s.batch, &s.heads, &s.seq_q, &s.seq_k, &s.head_dim};
    const char* names[] = {"batch", "heads", "seq_q", "seq_k", "head_dim"};
    for (int64_t bad : {int64_t{0}, int64_t{-4}}) {
      *fields[which] = bad;
      try {
        validate(s);
        FAIL("accepted");
      } catch (const Error& e) {
        CHECK(std::string(e.what()).rfind(names[which], 0) == 0);
      }
    }
  }
  CHECK_NOTHROW(validate(AttentionShape{2, 3, 5, 7, 11}));
}

TEST_CASE("options: default scale is 1/sqrt(d); bad scale and dropout are refused") {
  const AttentionShape s{1, 1, 4, 4, 64};
  AttentionOptions o;
  CHECK(softmax_scale(o, s) == doctest::Approx(0.125));
  o.softmax_scale = 0.0;
  CHECK_THROWS_AS(validate(o, s), Error);
  o.softmax_scale = NAN;
  CHECK_THROWS_AS(validate(o, s), Error);
  o.softmax_scale = 0.5;
  o.dropout_p = 1.0;
  CHECK_THROWS_AS(validate(o, s), Error);
  o.dropout_p = 0.3;
  CHECK(make_params(o, s).scale == 0.5);
  CHECK(make_params(o, s).dropout.enabled);
}

TEST_CASE("causal mask is top-left aligned: row i sees columns j <= i, also for seq_q != seq_k") {
  MaskParams m;
  m.causal = true;
  CHECK(m.allows(0, 0));
  CHECK_FALSE(m.allows(0, 1));
  CHECK(m.allows(5, 5));
  CHECK(m.allows(10, 3));
  CHECK_FALSE(m.allows(3, 10));
}

TEST_CASE("paper tiling rule: Bc = ceil(M/4d), Br = min(Bc, d)") {
  // The paper's worked example: M = 51200 elements (100 KB of fp16), d = 64 -> Bc = 200, Br = 64.
  const TileSizes t = paper_tiling(51200, 64);
  CHECK(t.block_cols == 200);
  CHECK(t.block_rows == 64);
  // Small SRAM: Bc below d, so Br = Bc.
  const TileSizes small = paper_tiling(1000, 128);
  CHECK(small.block_cols == 2);
  CHECK(small.block_rows == 2);
  CHECK_THROWS_AS(paper_tiling(32, 64), Error);
  CHECK_THROWS_AS(validate(TileSizes{0, 4}), Error);
}
