// flashlab sweep end to end: CSV, JSON and SVG from one command agree, the counts follow the
// paper's asymptotics (standard ~ N^2, FlashAttention falls with M), and unfit tiles are n/a.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.hpp"

using namespace flashlab::test;

namespace {

std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::string cell;
    std::istringstream fields(line);
    while (std::getline(fields, cell, ',')) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.push_back("");
    rows.push_back(cells);
  }
  return rows;
}

size_t column(const std::vector<std::string>& header, const std::string& name) {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  FAIL("no CSV column " << name);
  return 0;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("a sweep over N writes CSV, JSON and an SVG chart that agree") {
  TempDir dir;
  const CliResult r = run_flashlab("sweep --param N --values 128,256,512,1024 --heads 2 --csv " +
                                   dir.path("s.csv") + " --json " + dir.path("s.json") +
                                   " --chart " + dir.path("s.svg"));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());  // no progress bar when stderr is not a terminal
  CHECK(r.out.find("HBM bytes") != std::string::npos);

  const auto csv = parse_csv(read_file(dir.path("s.csv")));
  REQUIRE(csv.size() == 5);
  const nlohmann::json doc = nlohmann::json::parse(read_file(dir.path("s.json")));
  REQUIRE(doc["points"].size() == 4);
  const size_t value = column(csv[0], "value");
  for (const char* algorithm : {"standard", "flash", "flash2"}) {
    const size_t total = column(csv[0], std::string(algorithm) + "_hbm_bytes_total");
    for (size_t p = 0; p < 4; ++p) {
      const nlohmann::json& cell = doc["points"][p]["algorithms"][algorithm];
      CHECK(std::stod(csv[p + 1][value]) == doc["points"][p]["value"].get<double>());
      CHECK(std::stoll(csv[p + 1][total]) == cell["io"]["hbm_bytes_total"].get<int64_t>());
    }
  }
  // Theorem 2: standard attention moves Theta(N d + N^2) elements, so doubling N from 512 to
  // 1024 (d = 64 < N) multiplies its traffic by (N d + N^2) ratios between 2 and 4.
  const size_t standard = column(csv[0], "standard_hbm_bytes_total");
  const double ratio = std::stod(csv[4][standard]) / std::stod(csv[3][standard]);
  CHECK(ratio > 2.0 * 1.2);
  CHECK(ratio <= 4.0);
  const size_t flash = column(csv[0], "flash_hbm_bytes_total");
  CHECK(std::stod(csv[4][flash]) < std::stod(csv[4][standard]));

  const std::string svg = read_file(dir.path("s.svg"));
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(count(svg, "<polyline") == 6);  // 3 algorithms x 2 panels
  for (const char* label : {"standard", "flash", "flash2", "HBM", "log scale", "1k"})
    CHECK(svg.find(label) != std::string::npos);
}

TEST_CASE("FlashAttention's HBM traffic falls as the SRAM grows (Theorem 2: N^2 d^2 / M)") {
  const CliResult r =
      run_flashlab("sweep --param sram --values 8KiB,32KiB,128KiB --seq 2048 --heads 1 --csv -");
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const auto csv = parse_csv(r.out);  // --csv - prints only the CSV
  REQUIRE(csv.size() == 4);
  const size_t flash = column(csv[0], "flash_hbm_bytes_total");
  CHECK(std::stod(csv[2][flash]) < std::stod(csv[1][flash]));
  CHECK(std::stod(csv[3][flash]) < std::stod(csv[2][flash]));
}

TEST_CASE("--from/--to build a doubling range and --json - prints JSON only") {
  const CliResult r = run_flashlab("sweep --param d --from 16 --to 128 --seq 256 --json -");
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  REQUIRE(doc["points"].size() == 4);
  CHECK(doc["points"][3]["value"] == 128);
  CHECK(doc["param"] == "d");
}

TEST_CASE("block sizes that do not fit the SRAM are n/a with the reason, not an error") {
  const CliResult r = run_flashlab("sweep --param block --values 16,512 --seq 1024 --sram 16KiB");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("n/a") != std::string::npos);
  CHECK(r.out.find("n/a: flash at block = 512: ") != std::string::npos);
}

TEST_CASE("a backward sweep counts every algorithm, FA2's backward with its own tiles") {
  const CliResult r =
      run_flashlab("sweep --param density --values 0.25,1 --seq 512 --backward --json -");
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  CHECK(doc["pass"] == "backward");
  for (const char* algorithm : {"standard", "flash", "flash2"}) {
    INFO(algorithm);
    for (const nlohmann::json& p : doc["points"])
      CHECK(p["algorithms"][algorithm]["available"] == true);
    // Proposition 4: skipping blocks cuts the tiled algorithms' traffic.
    if (std::string(algorithm) != "standard")
      CHECK(doc["points"][0]["algorithms"][algorithm]["io"]["hbm_bytes_total"].get<int64_t>() <
            doc["points"][1]["algorithms"][algorithm]["io"]["hbm_bytes_total"].get<int64_t>());
  }
}

TEST_CASE("FA2's backward in a sweep moves the bytes FA2 Alg. 2 reads and writes") {
  // FA2 Alg. 2 as FA2's code runs it, per head, dense: a memset of the fp32 accumulator dQ_acc
  // (N d), D = rowsum(dO o O) (reads dO, O: N d each; writes D: N), then for each of the
  // T_c = N / B_c key blocks K_j, V_j are read once and Q, dO, L, D stream past in full, adding
  // into dQ_acc (N d, fp32, per key block); dK, dV are written once; dQ_acc (N d, fp32) is read
  // and dQ written. fp16: e = 2 bytes.
  const int64_t heads = 2, d = 32, e = 2, block_cols = 64;
  const CliResult r =
      run_flashlab("sweep --param N --values 256,512 --heads " + std::to_string(heads) +
                   " --head-dim " + std::to_string(d) + " --tiles flash2-bwd=32x" +
                   std::to_string(block_cols) + " --backward --json -");
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  REQUIRE(doc["points"].size() == 2);
  for (const nlohmann::json& p : doc["points"]) {
    const int64_t n = p["value"].get<int64_t>(), tc = n / block_cols;
    const int64_t elements = 2 * n * d                       // K, V
                             + tc * n * d                    // Q, once per key block
                             + n * d + tc * n * d            // dO: for D, then once per key block
                             + n * d                         // O, for D
                             + 2 * tc * n                    // L, D, once per key block
                             + n                             // D written
                             + 3 * n * d;                    // dQ, dK, dV written
    const int64_t accumulator = n * d + tc * n * d + n * d;  // memset, additions, conversion
    const int64_t expected = heads * (e * elements + 4 * accumulator);
    const nlohmann::json& cell = p["algorithms"]["flash2"];
    INFO("N = " << n);
    REQUIRE(cell["available"] == true);
    CHECK(cell["tiles"]["block_cols"] == block_cols);
    CHECK(cell["io"]["hbm_bytes_total"].get<int64_t>() == expected);
  }
}
