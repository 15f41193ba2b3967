// flashlab trace writes a parseable trace of the configuration asked for; flashlab info reports
// the version, the build and the GPU presets.
#include <doctest/doctest.h>

#include <flashlab/cli/problem.hpp>
#include <flashlab/cli/work_estimate.hpp>
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
  // The softmax's share of its rates beside the tensor cores: a column and a JSON field, the
  // datasheet's 1 beside the measured share.
  CHECK(r.out.find("under matmul") != std::string::npos);
  for (const nlohmann::json& preset : doc["gpu_presets"]) {
    CHECK(preset["datasheet"]["rest_rate_under_matmul"] == 1.0);
    CHECK(preset["sustained"]["rest_rate_under_matmul"] > 0.0);
    CHECK(preset["sustained"]["rest_rate_under_matmul"] < 1.0);
  }
  CHECK(run_flashlab("--version").out.find(FLASHLAB_TEST_VERSION) != std::string::npos);
}

TEST_CASE("the size estimate of an FA2 backward trace bounds the JSON written") {
  // The refusal of traces over 1 GiB rests on this estimate: it must not fall short. FA2's
  // backward has tiles of its own (smaller than its forward's at this SRAM) and more events per
  // tile block than its forward.
  flashlab::cli::ProblemArgs args;
  args.heads = 1;
  args.seq_q = args.seq_k = 256;
  args.sram = "48KiB";
  const flashlab::cli::Problem problem =
      flashlab::cli::resolve_problem(args, flashlab::cli::shape_from_args(args), true);
  const double estimate =
      flashlab::cli::estimate_trace(problem, flashlab::simulator::Algorithm::Flash2, true, false)
          .output_bytes;
  TempDir dir;
  const CliResult r =
      run_flashlab("trace --algorithm flash2 --backward --heads 1 --seq 256 --sram 48KiB -o " +
                   dir.path("t.json"));
  REQUIRE(r.exit_code == 0);
  const double written = double(read_file(dir.path("t.json")).size());
  CHECK(written <= estimate);
  CHECK(estimate <= 3 * written);  // an estimate, not a blanket refusal
}

TEST_CASE("trace offers no --gpu: a trace holds no prediction, and giving one says so") {
  const CliResult help = run_flashlab("trace --help");
  REQUIRE(help.exit_code == 0);
  CHECK(help.out.find("--gpu") == std::string::npos);
  const CliResult r = run_flashlab("trace --seq 32 --gpu a100 -o -");
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("--gpu: trace takes no GPU preset") != std::string::npos);
}
