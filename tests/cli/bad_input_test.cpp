// Bad input exits 2 with one line on stderr that names the bad value, and never crashes.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cli_runner.hpp"

using flashlab::test::CliResult;
using flashlab::test::run_flashlab;

namespace {

struct BadCase {
  std::string args;
  std::string fragment;  // must appear in the error line
};

void check_bad_input(const BadCase& c) {
  const CliResult r = run_flashlab(c.args);
  INFO("flashlab " << c.args << "\nstdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind("flashlab: error: ", 0) == 0);
  CHECK(flashlab::test::count_lines_with(r.err, "") == 1);  // exactly one line
  CHECK(r.err.find(c.fragment) != std::string::npos);
}

}  // namespace

TEST_CASE("bad sizes exit 2 naming the option and the value") {
  const std::vector<BadCase> cases = {
      {"compare --seq-q 0", "--seq-q must be between 1 and 2^30, got 0"},
      {"compare --seq-k -5", "--seq-k must be between 1 and 2^30, got -5"},
      {"compare --seq 0", "--seq must be between 1 and 2^30, got 0"},
      {"compare --head-dim 0", "--head-dim must be between 1 and 2^30, got 0"},
      {"compare --heads -2", "--heads must be between 1 and 2^30, got -2"},
      {"compare --batch 0", "--batch must be between 1 and 2^30, got 0"},
      {"compare --batch abc", "--batch"},
      {"compare --seed -1", "--seed"},
      {"compare --seq 1.5", "--seq"},
      {"compare --block-rows 0", "--block-rows must be between 1 and 2^30, got 0"},
      {"compare --seq 16384", "2^26"},
      {"sweep --param N --values 256,0", "'0'"},
      {"trace --seq-q 0", "--seq-q must be"},
  };
  for (const BadCase& c : cases) check_bad_input(c);
}

TEST_CASE("bad options exit 2 with what is accepted") {
  const std::vector<BadCase> cases = {
      {"compare --block-sparse zigzag", "unknown block-sparse pattern 'zigzag'"},
      {"compare --block-sparse random:1.5", "random:DENSITY"},
      {"compare --block-sparse local:-1", "local:W"},
      {"compare --mask-block 16", "--mask-block needs --block-sparse"},
      {"compare --sram 16B", "--sram 16 B: tiles Br=1, Bc=1 do not fit the SRAM"},
      {"trace --sram 4KiB --seq 64 --head-dim 16 --block-rows 16 --block-cols 32",
       "--block-rows 16 --block-cols 32 with --sram 4.00 KiB: "},
      {"compare --sram 12XB",
       "--sram must be a byte size such as 49152, 48KiB or 100KB, got '12XB'"},
      {"compare --dtype fp64", "--dtype must be fp16, bf16 or fp32, got 'fp64'"},
      {"compare --dropout 1.5", "--dropout must be in [0, 1)"},
      {"compare --dropout nan", "--dropout must be in [0, 1)"},
      {"compare --scale -1", "--scale must be finite and > 0"},
      {"compare --gpu v100", "--gpu"},
      {"compare --tolerance -1", "--tolerance must be"},
      {"compare --bogus", "--bogus"},
      {"compare --do x.npy", "--do is the upstream gradient of the backward"},
      {"compare --seq 16 --save /dev/null/out", "--save: cannot create directory '/dev/null/out'"},
      {"sweep --param N --csv /nonexistent-dir/s.csv", "cannot write '/nonexistent-dir/s.csv'"},
      {"sweep", "--param"},
      {"sweep --param width", "--param must be N, d, sram, block or density, got 'width'"},
      {"sweep --param density --values 0.5,2", "density takes block densities in (0, 1]"},
      {"sweep --param N --chart out.png", "--chart writes SVG"},
      {"sweep --param N --from 512 --to 256", "--from 512 is larger than --to 256"},
      {"trace --algorithm fa3", "--algorithm"},
      {"trace --seq 8192", "2^24"},
      {"", "subcommand"},
      {"explain", "explain"},
  };
  for (const BadCase& c : cases) check_bad_input(c);
}
