// Block masks: the named patterns against their definitions, written out independently here.
#include <doctest/doctest.h>

#include <flashlab/core/block_mask.hpp>
#include <flashlab/core/named_block_mask.hpp>
#include <flashlab/core/options.hpp>

using namespace flashlab;

TEST_CASE("butterfly mask: diagonal plus blocks whose indices differ in exactly one bit") {
  const BlockMask m = butterfly_mask(512, 512, 64);  // 8 x 8 blocks
  REQUIRE(m.row_blocks == 8);
  REQUIRE(m.col_blocks == 8);
  // Row 5 = 0b101: itself, and 5^1=4, 5^2=7, 5^4=1.
  const std::vector<int> expected_row5{0, 1, 0, 0, 1, 1, 0, 1};
  for (int j = 0; j < 8; ++j) CHECK(m.layout[size_t(5 * 8 + j)] == expected_row5[size_t(j)]);
  // Each row of an 8-block butterfly has 1 + log2(8) = 4 blocks on.
  CHECK(m.density() == doctest::Approx(4.0 / 8.0));
}

TEST_CASE("local mask keeps the band |i - j| <= W and handles seq_q != seq_k tails") {
  const BlockMask m = local_mask(100, 230, 32, 1);  // 4 x 8 blocks (last ones partial)
  REQUIRE(m.row_blocks == 4);
  REQUIRE(m.col_blocks == 8);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 8; ++j) CHECK(m.layout[size_t(i * 8 + j)] == (std::abs(i - j) <= 1));
  CHECK(m.view().allows(99, 100));      // block (3, 3)
  CHECK_FALSE(m.view().allows(0, 70));  // block (0, 2)
}

TEST_CASE("random mask density is close to the requested one and reproducible by seed") {
  const BlockMask a = random_mask(4096, 4096, 16, 0.25, 7);  // 65536 blocks
  const BlockMask b = random_mask(4096, 4096, 16, 0.25, 7);
  const BlockMask c = random_mask(4096, 4096, 16, 0.25, 8);
  CHECK(a.layout == b.layout);
  CHECK(a.layout != c.layout);
  // Binomial(65536, 0.25): std of the density is 0.0017; 0.01 is ~6 sigma.
  CHECK(std::abs(a.density() - 0.25) < 0.01);
}

TEST_CASE("named patterns parse and bad names are refused with the accepted list") {
  CHECK(named_block_mask("butterfly", 256, 256, 64, 0).layout ==
        butterfly_mask(256, 256, 64).layout);
  CHECK(named_block_mask("local:2", 256, 256, 64, 0).layout == local_mask(256, 256, 64, 2).layout);
  CHECK(named_block_mask("random:0.5", 256, 256, 64, 3).layout ==
        random_mask(256, 256, 64, 0.5, 3).layout);
  for (const char* bad : {"", "diagonal", "butterfly:2", "Local:1"}) {
    CAPTURE(bad);
    try {
      named_block_mask(bad, 256, 256, 64, 0);
      FAIL("pattern was accepted");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("accepted: butterfly") != std::string::npos);
    }
  }
  // A known pattern with a bad argument is not "unknown": the message names the argument.
  struct BadArgument {
    const char* pattern;
    const char* message;
  };
  for (const BadArgument& bad :
       {BadArgument{"local", "'local': local:W takes a window W of whole blocks >= 0, got ''"},
        BadArgument{"local:x", "got 'x'"}, BadArgument{"local:-1", "got '-1'"},
        BadArgument{"local:1.5", "got '1.5'"},
        BadArgument{"random:0", "'random:0': random:DENSITY takes a density in (0, 1], got '0'"},
        BadArgument{"random:1.5", "got '1.5'"}, BadArgument{"random:2", "got '2'"},
        BadArgument{"random:-1", "got '-1'"}, BadArgument{"random:", "got ''"}}) {
    CAPTURE(bad.pattern);
    try {
      named_block_mask(bad.pattern, 256, 256, 64, 0);
      FAIL("pattern was accepted");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find(bad.message) != std::string::npos);
      CHECK(std::string(e.what()).find("unknown") == std::string::npos);
    }
  }
  // A window wider than the grid is every block.
  CHECK(named_block_mask("local:1e300", 256, 256, 64, 0).density() == 1.0);
}

TEST_CASE("a block mask that does not cover the sequence is refused with the sizes named") {
  AttentionShape shape{1, 1, 128, 128, 16};
  AttentionOptions options;
  options.block_mask = butterfly_mask(64, 128, 64);
  try {
    validate(options, shape);
    FAIL("mask was accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("does not cover seq_q=128") != std::string::npos);
  }
  CHECK_THROWS_AS(block_sparse_mask({1, 0, 1, 2}, 2, 2, 64, 64), Error);  // not 0/1
  CHECK_THROWS_AS(block_sparse_mask({1, 0, 1}, 2, 2, 64, 64), Error);     // wrong count
}
