// What issue #15 asked of the CLI beyond one-line refusals: the CUDA libraries load only when a
// CUDA row runs, and say what is true without a driver; --save writes every output in its own
// precision and never leaves a partial set; counts for a billion heads are exact; a mask that
// leaves rows without keys is said; long runs say how long; the progress bar draws its steps.
#include <doctest/doctest.h>

#include <dlfcn.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <flashlab/cli/progress_bar.hpp>
#include <flashlab/cli/save_outputs.hpp>
#include <nlohmann/json.hpp>

#include "../../cli/src/cuda_plugin.hpp"
#include "cli_runner.hpp"
#include "npy_test_files.hpp"

using namespace flashlab;
using flashlab::test::CliResult;
using flashlab::test::run_flashlab;
using flashlab::test::TempDir;

namespace {

__extension__ typedef __int128 Wide;  // exact products of counts near 2^63

// The integer cells of a CSV line (empty or non-integer cells as 0), exact in 128 bits.
std::vector<Wide> integer_cells(const std::string& line) {
  std::vector<Wide> cells;
  std::istringstream in(line);
  std::string cell;
  while (std::getline(in, cell, ',')) {
    Wide v = 0;
    bool digits = !cell.empty();
    for (const char c : cell) digits = digits && c >= '0' && c <= '9';
    if (digits)
      for (const char c : cell) v = v * 10 + (c - '0');
    cells.push_back(digits ? v : -1);
  }
  return cells;
}

std::string csv_row(const std::string& args) {
  const CliResult r = run_flashlab(args + " --csv -");
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return r.out.substr(r.out.find('\n') + 1);
}

}  // namespace

TEST_CASE("flashlab --version loads neither the CUDA runtime nor cuBLAS") {
  // The dynamic loader lists every library it loads under LD_DEBUG=libs.
  const CliResult r = run_flashlab("--version", "LD_DEBUG=libs");
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("libc.so") != std::string::npos);  // the listing is there
  CHECK(r.err.find("libcublas") == std::string::npos);
  CHECK(r.err.find("libcudart") == std::string::npos);
  const CliResult usage = run_flashlab("compare --seq 0", "LD_DEBUG=libs");
  CHECK(usage.exit_code == 2);
  CHECK(usage.err.find("libcublas") == std::string::npos);
}

#if FLASHLAB_TEST_HAVE_CUDA
// Whether this machine has the NVIDIA driver (libcuda), as the CLI would find it.
bool have_driver() {
  return ::dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL) != nullptr;
}

TEST_CASE(
    "the CUDA plugin loads with every symbol resolved and names the GPU or why there is none") {
  void* handle = ::dlopen(FLASHLAB_TEST_CUDA_PLUGIN, RTLD_NOW | RTLD_LOCAL);
  REQUIRE_MESSAGE(handle != nullptr, ::dlerror());
  const auto entry =
      reinterpret_cast<cli::CudaPluginEntry>(::dlsym(handle, cli::kCudaPluginSymbol));
  REQUIRE(bool(entry));
  const cli::CudaPluginApi* api = entry();
  REQUIRE(api != nullptr);
  CHECK(api->abi == cli::kCudaPluginAbi);
  CHECK(std::string(api->version) == FLASHLAB_TEST_VERSION);
  const cli::GpuDevice gpu = api->detect_gpu();
  if (gpu.available) {
    CHECK(!gpu.name.empty());
  } else {
    // The runtime's own words for a missing driver ("driver version is insufficient") are
    // not what is true; the plugin says which of driver, device or version is missing.
    CHECK(gpu.reason.find("insufficient") == std::string::npos);
    if (!have_driver()) CHECK(gpu.reason.find("no NVIDIA driver") != std::string::npos);
  }
}

// Needs a GPU (run on the lent H100/H200: ctest -L cli there); elsewhere it says why it did not.
TEST_CASE("on a GPU: the d = 256 backward runs (the kernel decides) and lse is saved in fp32") {
  const nlohmann::json info = nlohmann::json::parse(run_flashlab("info --json").out);
  if (info["gpu"].contains("absent")) {
    MESSAGE("no GPU here (" << info["gpu"]["absent"].get<std::string>() << "): not checked");
    return;
  }
  TempDir dir;
  const CliResult r = run_flashlab(
      "compare --head-dim 256 --backward --seq 192 --seq-k 160 "
      "--heads 2 --json --save " +
      dir.path("out"));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  for (const auto& row : doc["implementations"]) {
    if (row["id"] != "cuda_flash") continue;
    CHECK(row["available"] == true);
    CHECK(row["backward"].is_object());
    CHECK(row["backward_absent_reason"].is_null());
    CHECK(row["pass"] == true);
  }
  CHECK(test::read_npy_file(dir.path("out/cuda_flash_lse.npy")).descr == "<f4");
  CHECK(test::read_npy_file(dir.path("out/cuda_flash_O.npy")).descr == "<f2");
}

TEST_CASE("without an NVIDIA driver the CUDA rows say so and what to do") {
  if (have_driver()) return;  // a machine with a driver runs the rows instead (tests/gpu)
  const CliResult r = run_flashlab("compare --seq 32 --heads 1 --json");
  REQUIRE(r.exit_code == 0);
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  for (const auto& row : doc["implementations"]) {
    if (row["kind"] != "cuda") continue;
    CHECK(row["available"] == false);
    const std::string reason = row["reason_if_absent"];
    CHECK(reason.find("no NVIDIA driver") != std::string::npos);
    CHECK(reason.find("install the NVIDIA driver") != std::string::npos);
  }
  CHECK(run_flashlab("info").out.find("GPU         none: no NVIDIA driver") != std::string::npos);
}
#endif

TEST_CASE("--save writes each output in the precision it was computed in") {
  // A CUDA-like row: O in fp16, the logsumexp in fp32 (as the kernels compute it), with values
  // that fp16 cannot hold exactly, so a rounding on the way out would show.
  cli::CompareReport report;
  report.problem.shape = {1, 1, 2, 2};
  report.problem.dtype = cli::DType::Float16;
  cli::ImplementationRun run;
  run.id = "cuda_flash";
  run.kind = cli::ImplementationKind::Cuda;
  run.precision = cli::OutputPrecision::Float16;
  cli::PassRun forward;
  forward.outputs.emplace_back(cli::Quantity::O, Tensor<double>({1, 1, 2, 2}, 0.5));
  Tensor<double> lse({1, 1, 2});
  lse.data = {double(1.2345678f), double(-3.3333333f)};
  forward.outputs.emplace_back(cli::Quantity::lse, lse, cli::OutputPrecision::Float32);
  run.forward = forward;
  report.runs.push_back(run);
  cli::Inputs inputs;
  inputs.Q = inputs.K = inputs.V = Tensor<double>({1, 1, 2, 2}, 0.25);
  TempDir dir;
  cli::save_outputs(dir.path(), report, inputs, nlohmann::json::object());
  const test::NpyFile saved_lse = test::read_npy_file(dir.path("cuda_flash_lse.npy"));
  CHECK(saved_lse.descr == "<f4");
  CHECK(test::npy_element(saved_lse, 0) == double(1.2345678f));
  CHECK(test::npy_element(saved_lse, 1) == double(-3.3333333f));
  CHECK(test::read_npy_file(dir.path("cuda_flash_O.npy")).descr == "<f2");
  // Nothing of the staging directory is left.
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    CHECK(entry.path().filename().string().rfind(".flashlab-save-", 0) != 0);
}

TEST_CASE("--save that cannot place a file saves nothing and prints no verdict") {
  TempDir dir;
  // A directory where report.json must go: every other file is written, then not placed.
  std::filesystem::create_directories(dir.path("out/report.json"));
  const CliResult r = run_flashlab("compare --seq 16 --heads 1 --save " + dir.path("out"));
  INFO(r.out << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--save: cannot move report.json into") != std::string::npos);
  CHECK(r.err.find("nothing was saved") != std::string::npos);
  CHECK(r.out.find("PASS") == std::string::npos);
  std::vector<std::string> left;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path("out")))
    left.push_back(entry.path().filename().string());
  CHECK(left == std::vector<std::string>{"report.json"});
}

// Per-head counts times batch x heads, in int64 with overflow checks: exact. (A billion heads are
// refused before any work, by the counts' or the time's estimate: bad_inputs.hpp.)
TEST_CASE("sweep counts for 10^5 heads are exactly 10^5 times one head's") {
  const std::string one = csv_row("sweep --param N --values 512 --batch 1 --heads 1 --dropout 0.1");
  const std::string many =
      csv_row("sweep --param N --values 512 --batch 100 --heads 1000 --dropout 0.1");
  const std::vector<Wide> a = integer_cells(one), b = integer_cells(many);
  REQUIRE(a.size() == b.size());
  // Columns: param, value, batch, heads, seq_q, seq_k, head_dim, dtype, sram_bytes, density, pass,
  // then 15 per algorithm, of which hbm bytes (3), FLOPs (3), dropout's draws and formula bytes
  // scale.
  const Wide heads = 100000;
  int scaled = 0;
  for (size_t alg = 0; alg < 3; ++alg) {
    const size_t base = 11 + 15 * alg;
    for (const size_t k : {2, 3, 4, 5, 6, 7, 8, 13}) {
      CAPTURE(base + k);
      CHECK(a[base + k] > 0);
      CHECK(b[base + k] == a[base + k] * heads);
      ++scaled;
    }
  }
  CHECK(scaled == 24);
}

TEST_CASE("a block mask that leaves query rows without keys is said, with how many") {
  // local:0 keeps blocks i == j; with 4-row query blocks and 8-key key blocks on N = 16, count
  // the rows that see no key by the element-wise rule.
  const int64_t n = 16, br = 4, bc = 8;
  int64_t empty = 0;
  for (int64_t r = 0; r < n; ++r) {
    bool any = false;
    for (int64_t c = 0; c < n; ++c) any = any || r / br == c / bc;
    empty += any ? 0 : 1;
  }
  REQUIRE(empty == 8);
  const CliResult r = run_flashlab(
      "compare --seq 16 --heads 1 --block-sparse local:0 --block-rows 4 "
      "--block-cols 8");
  CHECK(r.exit_code == 0);
  CHECK(r.err == "flashlab: warning: --block-sparse local:0 leaves " + std::to_string(empty) +
                     " of 16 query rows with no key at all: their output is 0 and their "
                     "logsumexp -inf\n");
  // The other way round every row has a key (also causal: row r sees its block's first key).
  const CliResult fine = run_flashlab(
      "compare --seq 16 --heads 1 --causal --block-sparse local:0 --block-rows 8 --block-cols 4");
  CHECK(fine.exit_code == 0);
  CHECK(fine.err.empty());
}

TEST_CASE("a run estimated to take long says how long when stderr is not a terminal") {
  // Killed after the note: the estimate is printed before any work.
  const CliResult r = run_flashlab("sweep --param N --heads 1 --values 1048576", "timeout 5");
  CHECK(r.err.rfind("flashlab: note: the sweep will take about ", 0) == 0);
}

TEST_CASE("the progress bar shows the running step, its share and the time") {
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  {
    cli::ProgressBar bar(std::vector<double>{0.2, 0.2}, true, out);
    bar.update(0, "first step");
    std::this_thread::sleep_for(std::chrono::milliseconds(600));  // the timer redraws meanwhile
    bar.update(1, "second step");
    bar.finish();
  }
  std::rewind(out);
  std::string text;
  for (int c = std::fgetc(out); c != EOF; c = std::fgetc(out)) text += char(c);
  std::fclose(out);
  CHECK(text.find("] ") != std::string::npos);
  CHECK(text.find("first step (") != std::string::npos);
  CHECK(text.find("second step (") != std::string::npos);
  CHECK(text.find("elapsed") != std::string::npos);
  CHECK(text.find(" 50% second step") != std::string::npos);  // step 1 of two equal steps
  CHECK(text.size() > 3 * 40);                                // redrawn while the step ran
  CHECK(text.substr(text.size() - 4) == "\r\033[K");          // and cleared at the end
  // Disabled: nothing at all.
  std::FILE* quiet = std::tmpfile();
  {
    cli::ProgressBar bar(std::vector<double>{1.0}, false, quiet);
    bar.update(0, "x");
  }
  CHECK(std::ftell(quiet) == 0);
  std::fclose(quiet);
}
