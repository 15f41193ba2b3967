// flashlab trace writes a parseable trace of the configuration asked for; flashlab info reports
// the version, the build and the GPU presets.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli_runner.hpp"

using namespace flashlab::test;

TEST_CASE("trace writes the JSON trace of the configuration, first head by default") {
  TempDir dir;
  const CliResult r = run_flashlab(
      "trace --algorithm flash --seq 64 --head-dim 16 --heads 2 "
      "--sram 8KiB --block-rows 16 --block-cols 32 -o " +
      dir.path("t.json"));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("wrote") != std::string::npos);
  const nlohmann::json doc = nlohmann::json::parse(read_file(dir.path("t.json")));
  CHECK(doc["algorithm"] == "flash");
  CHECK(doc["pass"] == "forward");
  CHECK(doc["tiles"]["block_rows"] == 16);
  CHECK(doc["tiles"]["block_cols"] == 32);
  CHECK(doc["sram_capacity_bytes"] == 8192);
  REQUIRE(doc["events"].is_array());
  CHECK(!doc["events"].empty());
  for (const nlohmann::json& e : doc["events"]) {
    if (e.contains("head")) CHECK(e["head"] == 0);
  }
}

TEST_CASE("trace of a backward pass goes to stdout with -o -") {
  const CliResult r =
      run_flashlab("trace --algorithm standard --backward --seq 32 --head-dim 8 -o -");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  CHECK(doc["algorithm"] == "standard");
  CHECK(doc["pass"] == "backward");
}

TEST_CASE("info shows the version, CUDA on/off and the three GPU presets") {
  const CliResult r = run_flashlab("info");
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find(FLASHLAB_TEST_VERSION) != std::string::npos);
  CHECK(r.out.find(FLASHLAB_TEST_HAVE_CUDA ? "CUDA        on" : "CUDA        off") !=
        std::string::npos);
  CHECK(r.out.find("a100") != std::string::npos);
  CHECK(r.out.find("h100") != std::string::npos);
  CHECK(r.out.find("h200") != std::string::npos);
  const CliResult j = run_flashlab("info --json");
  REQUIRE(j.exit_code == 0);
  const nlohmann::json doc = nlohmann::json::parse(j.out);
  CHECK(doc["flashlab_version"] == FLASHLAB_TEST_VERSION);
  CHECK(doc["cuda"] == bool(FLASHLAB_TEST_HAVE_CUDA));
  CHECK(doc["gpu_presets"].size() == 3);
  CHECK(run_flashlab("--version").out.find(FLASHLAB_TEST_VERSION) != std::string::npos);
}
