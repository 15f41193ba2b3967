// flashlab compare end to end: the default problem passes, a tolerance no float computation can
// meet fails with exit 1, --json holds the table's numbers, options run, colours follow the rules.
#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.hpp"

using flashlab::test::CliResult;
using flashlab::test::run_flashlab;

namespace {

// The whitespace-separated words of the table line that starts with `name`.
std::vector<std::string> table_row(const std::string& out, const std::string& name) {
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0) continue;
    std::istringstream words(line.substr(name.size()));
    std::vector<std::string> cells;
    std::string w;
    while (words >> w) cells.push_back(w);
    return cells;
  }
  return {};
}

// "1.50 MiB" (two words) -> bytes; the table prints 3 significant digits of binary units.
double parse_bytes(const std::string& number, const std::string& unit) {
  const double v = std::stod(number);
  const std::vector<std::string> units = {"B", "KiB", "MiB", "GiB", "TiB"};
  for (size_t k = 0; k < units.size(); ++k)
    if (unit == units[k]) return v * std::pow(1024.0, double(k));
  FAIL("unknown byte unit " << unit);
  return 0;
}

// The first line of `text` that starts with `prefix`, or "".
std::string line_starting_with(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) return line;
  return "";
}

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  return t.substr(t.rfind('\n') + 1);
}

}  // namespace

TEST_CASE("the default compare passes and shows every implementation, CUDA rows with a reason") {
  const CliResult r = run_flashlab("compare");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  for (const char* name : {"reference (float64)", "standard (simulator)", "flash (simulator)",
                           "flash2 (simulator)", "cuda flash (fused)", "cuda naive"})
    CHECK(r.out.find(name) != std::string::npos);
  CHECK(last_line(r.out).rfind("PASS", 0) == 0);
#if !FLASHLAB_TEST_HAVE_CUDA
  CHECK(flashlab::test::count_lines_with(r.out, "absent: flashlab was built without CUDA") == 2);
#endif
}

TEST_CASE("a tolerance that float arithmetic cannot meet fails with exit 1") {
  const CliResult r = run_flashlab("compare --seq 64 --heads 1 --tolerance 1e-15");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(last_line(r.out).rfind("FAIL", 0) == 0);
  CHECK(r.out.find("FAIL") != std::string::npos);
}

TEST_CASE("--json parses and holds the same numbers as the table") {
  const std::string args = "compare --seq 96 --heads 2 --causal --backward --seed 7";
  const CliResult table = run_flashlab(args);
  const CliResult json = run_flashlab(args + " --json");
  REQUIRE(table.exit_code == 0);
  REQUIRE(json.exit_code == 0);
  const nlohmann::json doc = nlohmann::json::parse(json.out);
  CHECK(doc["pass"] == true);
  CHECK(doc["backward"] == true);
  CHECK(doc["problem"]["seq_q"] == 96);
  CHECK(doc["verdict"].get<std::string>() == last_line(table.out));

  int checked_rows = 0;
  for (const nlohmann::json& row : doc["implementations"]) {
    const std::string name = row["name"];
    const std::vector<std::string> cells = table_row(table.out, name);
    INFO("row " << name);
    REQUIRE(!cells.empty());
    if (!row["available"].get<bool>()) {
      CHECK(cells[0] == "absent:");
      continue;
    }
    if (row["kind"] == "reference") continue;
    // Error columns: O, lse, dQ, dK, dV, each "max abs" then "rel L2", printed as %.2e.
    size_t c = 0;
    for (const char* q : {"O", "lse", "dQ", "dK", "dV"}) {
      if (!row["errors"].contains(q)) {
        CHECK(cells[c] == "n/a");
        c += 2;
        continue;
      }
      for (const char* metric : {"max_abs", "rel_l2"}) {
        const double value = row["errors"][q][metric];
        const double shown = std::stod(cells[c++]);
        CHECK(shown == doctest::Approx(value).epsilon(0.006));
      }
    }
    c++;  // Br x Bc
    const nlohmann::json& totals = row["totals"];
    CHECK(parse_bytes(cells[c], cells[c + 1]) ==
          doctest::Approx(totals["hbm_bytes_read"].get<double>()).epsilon(0.006));
    CHECK(parse_bytes(cells[c + 2], cells[c + 3]) ==
          doctest::Approx(totals["hbm_bytes_written"].get<double>()).epsilon(0.006));
    CHECK(parse_bytes(cells[c + 4], cells[c + 5]) ==
          doctest::Approx(totals["extra_memory_bytes"].get<double>()).epsilon(0.006));
    CHECK(cells.back() == (row["pass"].get<bool>() ? "pass" : "FAIL"));
    if (row["kind"] == "simulator") ++checked_rows;
  }
  CHECK(checked_rows == 3);  // standard, flash, flash2 (and the CUDA rows where a GPU ran)
  // FA2's backward (FA2 Alg. 2) is simulated with tiles of its own, shown after the forward's.
  for (const nlohmann::json& row : doc["implementations"])
    if (row["id"] == "flash2_sim") {
      CHECK(!row["backward"].is_null());
      CHECK(row["errors"].contains("dQ"));
      const std::vector<std::string> cells = table_row(table.out, "flash2 (simulator)");
      REQUIRE(cells.size() > 10);
      CHECK(cells[10].find('/') != std::string::npos);
    }
}

TEST_CASE("extra memory is the N x N S and P for standard attention and O(N) for FlashAttention") {
  // Thm. 1 vs FA1 Alg. 0, from the definitions: standard keeps S and P (b*h*N*N each), FA1 keeps l
  // and m (b*h*N each), FA2 only L; fp16 = 2 bytes per element.
  const int64_t b = 1, h = 2, n = 128, e = 2;
  const CliResult r = run_flashlab("compare --json --batch 1 --heads 2 --seq 128 --head-dim 32");
  REQUIRE(r.exit_code == 0);
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  for (const nlohmann::json& row : doc["implementations"]) {
    const nlohmann::json extra = row["totals"]["extra_memory_bytes"];
    if (row["id"] == "standard_sim") CHECK(extra.get<int64_t>() == 2 * b * h * n * n * e);
    if (row["id"] == "flash_sim") CHECK(extra.get<int64_t>() == 2 * b * h * n * e);
    if (row["id"] == "flash2_sim") CHECK(extra.get<int64_t>() == b * h * n * e);
    if (row["id"] == "flash_sim" || row["id"] == "standard_sim") {
      CHECK(row["totals"]["hbm_bytes_read"].get<double>() > 0);
      CHECK(row["forward"]["predicted_seconds"].get<double>() > 0);
    }
  }
}

TEST_CASE("masks, dropout, dtypes and unequal lengths all match the reference") {
  const std::vector<std::string> cases = {
      "--seq 80 --heads 2 --causal --dropout 0.2 --seed 3 --backward",
      "--seq 96 --block-sparse butterfly --block-rows 16 --block-cols 16 --backward",
      "--seq 96 --block-sparse local:1 --causal --block-rows 16 --block-cols 32",
      "--seq 96 --block-sparse random:0.5 --mask-block 8 --seed 11",
      "--seq-q 40 --seq-k 72 --causal --dtype bf16 --backward",
      "--seq 64 --dtype fp32 --sram 16KiB --head-dim 48 --scale 0.3 --gpu a100",
  };
  for (const std::string& c : cases) {
    const CliResult r = run_flashlab("compare --heads 1 " + c);
    INFO("compare " << c << "\n" << r.out << r.err);
    CHECK(r.exit_code == 0);
  }
}

TEST_CASE("colours appear only when asked for or on a terminal without NO_COLOR") {
  const std::string args = "compare --seq 32 --heads 1";
  CHECK(run_flashlab(args).out.find('\033') == std::string::npos);  // stdout is a file
  CHECK(run_flashlab(args + " --color always").out.find("\033[") != std::string::npos);
  CHECK(run_flashlab(args + " --color auto", "NO_COLOR=1").out.find('\033') == std::string::npos);
  const CliResult bad = run_flashlab(args + " --color sometimes");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--color must be auto, always or never") != std::string::npos);
}

TEST_CASE("--help exits 0 and shows an example for every subcommand") {
  for (const char* sub : {"compare", "sweep", "trace", "info", "validate"}) {
    const CliResult r = run_flashlab(std::string(sub) + " --help");
    INFO(sub);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("Example") != std::string::npos);
    CHECK(r.out.find(std::string("flashlab ") + sub) != std::string::npos);
  }
  CHECK(run_flashlab("--help").exit_code == 0);
}

TEST_CASE("the FA2-against-FA1 line says what the numbers of the problem at hand say") {
  // Three problems: FA2 faster with more traffic (the default), faster with less (a small SRAM
  // makes FA1 pass over O often) and slower (FA1's one block per head already fills the SMs and
  // tiny FA2 tiles read K, V many times).
  const std::vector<std::string> problems = {"", "--seq 1024 --heads 1 --sram 16KiB",
                                             "--seq 128 --batch 4 --heads 64 --tiles flash2=16x16"};
  std::set<std::string> seen;  // the kinds of problem covered, so that no branch goes unchecked
  for (const std::string& args : problems) {
    INFO("compare " << args);
    const CliResult json = run_flashlab("compare --json " + args);
    const CliResult table = run_flashlab("compare " + args);
    REQUIRE(json.exit_code == 0);
    REQUIRE(table.exit_code == 0);
    const nlohmann::json doc = nlohmann::json::parse(json.out);
    double bytes1 = 0, bytes2 = 0, seconds1 = 0, seconds2 = 0;
    for (const nlohmann::json& row : doc["implementations"]) {
      if (row["id"] == "flash_sim") {
        bytes1 = row["forward"]["io"]["hbm_bytes_total"].get<double>();
        seconds1 = row["forward"]["predicted_seconds"].get<double>();
      }
      if (row["id"] == "flash2_sim") {
        bytes2 = row["forward"]["io"]["hbm_bytes_total"].get<double>();
        seconds2 = row["forward"]["predicted_seconds"].get<double>();
      }
    }
    REQUIRE(bytes1 > 0);
    REQUIRE(bytes2 > 0);
    const std::string line = line_starting_with(table.out, "why FA2");
    INFO(line);
    REQUIRE(!line.empty());
    const bool faster = seconds2 < seconds1;
    const bool more_bytes = bytes2 > bytes1;
    seen.insert(std::string(faster ? "faster" : "slower") + (more_bytes ? ", more" : ", fewer"));
    CHECK(line.rfind(faster ? "why FA2 beats FA1 here" : "why FA2 does not beat FA1 here", 0) == 0);
    CHECK(line.find(faster ? " faster" : " slower") != std::string::npos);
    CHECK(line.find(more_bytes ? "FA2 moves more HBM bytes" : "FA2 moves fewer HBM bytes") !=
          std::string::npos);
    // The gain of an FA2 that moves more bytes is not its traffic.
    CHECK((line.find("despite more traffic") != std::string::npos) == (faster && more_bytes));
    CHECK(line.find(" 1 blocks") == std::string::npos);
  }
  CHECK(seen == std::set<std::string>{"faster, more", "faster, fewer", "slower, more"});
}

TEST_CASE("--why marks each memset launch as a memset once") {
  const std::string args = "compare --seq 128 --heads 1 --backward --why";
  const CliResult table = run_flashlab(args);
  const CliResult json = run_flashlab(args + " --json");
  INFO(table.out << table.err);
  REQUIRE(table.exit_code == 0);
  REQUIRE(json.exit_code == 0);
  const nlohmann::json doc = nlohmann::json::parse(json.out);
  int memsets = 0;  // launches that are no kernel, over every row and pass
  for (const nlohmann::json& row : doc["implementations"])
    for (const char* pass : {"forward", "backward"})
      if (row.contains(pass) && !row[pass].is_null() && !row[pass]["model"].is_null())
        for (const nlohmann::json& launch : row[pass]["model"]["launches"])
          memsets += launch["kernel"] == false ? 1 : 0;
  CHECK(memsets >= 1);  // FA2's backward clears its dQ accumulator (FA2 Alg. 2 l. 3)
  size_t marks = 0;
  for (size_t at = table.out.find("(memset)"); at != std::string::npos;
       at = table.out.find("(memset)", at + 1))
    ++marks;
  CHECK(marks == size_t(memsets));
}

TEST_CASE("--json's problem.tiles holds the tiles each algorithm used, --tiles included") {
  // flash as given; flash2's backward as given, 128 rows clipped to N = 96 (a block is never
  // longer than the sequence); every row's own tiles agree with problem.tiles.
  const CliResult r = run_flashlab(
      "compare --json --seq 96 --heads 1 --backward --tiles flash=32x64,flash2-bwd=128x32");
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  const nlohmann::json& tiles = doc["problem"]["tiles"];
  REQUIRE(tiles.is_object());
  CHECK(tiles["flash"] == nlohmann::json{{"block_rows", 32}, {"block_cols", 64}});
  CHECK(tiles["flash2-bwd"] == nlohmann::json{{"block_rows", 96}, {"block_cols", 32}});
  for (const nlohmann::json& row : doc["implementations"]) {
    const std::string id = row["id"];
    if (row["kind"] != "simulator") continue;
    const std::string algorithm = id.substr(0, id.size() - 4);  // "flash2_sim" -> "flash2"
    INFO(id);
    CHECK(row["forward"]["tiles"] == tiles[algorithm]);
    CHECK(row["backward"]["tiles"] == tiles[algorithm == "flash2" ? "flash2-bwd" : algorithm]);
  }
  // Without --backward there is no backward's entry.
  const CliResult forward = run_flashlab("compare --json --seq 96 --heads 1 --tiles flash=32x64");
  REQUIRE(forward.exit_code == 0);
  const nlohmann::json forward_tiles = nlohmann::json::parse(forward.out)["problem"]["tiles"];
  CHECK(forward_tiles["flash"] == nlohmann::json{{"block_rows", 32}, {"block_cols", 64}});
  CHECK(!forward_tiles.contains("flash2-bwd"));
}
