// flashlab validate end to end: output files checked before anything is printed and announced
// when written, record errors that name the file and the record, an empty file refused, colours
// on request, and usage errors that point to the subcommand's own --help.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "cli_runner.hpp"

using namespace flashlab::test;

namespace {

const std::string kMeasured = FLASHLAB_TEST_SOURCE_DIR "/bench/results/validation_h200_ours.json";

// The first record of the committed measurements whose call is `call`.
nlohmann::json committed_record(const std::string& call) {
  for (const nlohmann::json& r : nlohmann::json::parse(read_file(kMeasured)))
    if (r["call"] == call) return r;
  FAIL("no committed record of " << call);
  return {};
}

std::string write_json(const TempDir& dir, const std::string& name, const nlohmann::json& doc) {
  const std::string path = dir.path(name);
  std::ofstream(path) << doc.dump();
  return path;
}

// The committed records of the smallest problems (N <= 1024), one per call: what the tests of
// validate's output need, at a fraction of the whole file's model time (which, under the
// sanitizers, is minutes; the docs test runs the whole file once).
std::string small_measured(const TempDir& dir) {
  nlohmann::json picked = nlohmann::json::array();
  std::set<std::string> calls;
  for (const nlohmann::json& r : nlohmann::json::parse(read_file(kMeasured)))
    if (r["N"].get<int64_t>() <= 1024 && calls.insert(r["call"].get<std::string>()).second)
      picked.push_back(r);
  REQUIRE(picked.size() >= 2);
  return write_json(dir, "small.json", picked);
}

}  // namespace

TEST_CASE("validate refuses an unwritable --markdown or --svg before printing anything") {
  TempDir dir;
  const std::string measured = small_measured(dir);
  for (const char* option : {"--markdown /nonexistent/v.md", "--svg /nonexistent/v.svg"}) {
    const CliResult r = run_flashlab("validate --measured " + measured + " " + option);
    INFO(option << "\n" << r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find("cannot write '/nonexistent/v.") != std::string::npos);
  }
}

TEST_CASE("validate says which files it wrote") {
  TempDir dir;
  const std::string md = dir.path("v.md"), svg = dir.path("v.svg");
  const CliResult r = run_flashlab("validate --measured " + small_measured(dir) + " --markdown " +
                                   md + " --svg " + svg);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(count_lines_with(r.out, "wrote " + md) == 1);
  CHECK(count_lines_with(r.out, "wrote " + svg) == 1);
  CHECK(read_file(md).find("| target | met |") != std::string::npos);
  CHECK(read_file(svg).rfind("<svg", 0) == 0);
}

TEST_CASE("a bad record names the file and the record, counting from 1") {
  TempDir dir;
  const nlohmann::json good = committed_record("fused_fwd");
  struct Case {
    const char* what;
    nlohmann::json record;
    const char* says;
  };
  nlohmann::json zero_n = good, no_br = good, naive_zero_d = committed_record("naive_fwd");
  zero_n["N"] = 0;
  no_br.erase("Br");
  naive_zero_d["d"] = 0;
  const Case cases[] = {
      {"N = 0", zero_n, "(fused_fwd): N must be a whole number between 1 and 2^30, got 0"},
      {"no Br", no_br, "(fused_fwd): no number 'Br'"},
      {"d = 0", naive_zero_d, "(naive_fwd): d must be a whole number between 1 and 2^30, got 0"},
      {"not an object", nlohmann::json(7), ": is not an object"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    const std::string file = write_json(dir, "m.json", nlohmann::json::array({good, c.record}));
    const CliResult r = run_flashlab("validate --measured " + file);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find("'" + file + "', record 2 of 2") != std::string::npos);
    CHECK(r.err.find(c.says) != std::string::npos);
  }
}

TEST_CASE("a measured file that holds an empty array is an error naming the file") {
  TempDir dir;
  const std::string file = write_json(dir, "empty.json", nlohmann::json::array());
  const CliResult r =
      run_flashlab("validate --measured " + small_measured(dir) + " --measured " + file);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("'" + file + "' holds no records") != std::string::npos);
}

TEST_CASE("validate's table is coloured only when asked for") {
  TempDir dir;
  const std::string args = "validate --measured " + small_measured(dir);
  CHECK(run_flashlab(args).out.find('\033') == std::string::npos);  // stdout is a file
  CHECK(run_flashlab(args + " --color always").out.find("\033[") != std::string::npos);
  CHECK(run_flashlab(args + " --color always", "NO_COLOR=1").out.find("\033[") !=
        std::string::npos);  // always means always
  CHECK(run_flashlab(args + " --color never").out.find('\033') == std::string::npos);
}

TEST_CASE("a usage error points to the --help of the subcommand typed") {
  for (const char* command : {"compare", "sweep", "trace", "info", "validate"}) {
    const CliResult r = run_flashlab(std::string(command) + " --no-such-option");
    INFO(command << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(std::string("(see flashlab ") + command + " --help)") != std::string::npos);
  }
  const CliResult required = run_flashlab("validate");
  CHECK(required.err.find("--measured is required (see flashlab validate --help)") !=
        std::string::npos);
}
