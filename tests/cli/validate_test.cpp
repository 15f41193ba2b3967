// flashlab validate end to end: output files checked before anything is printed and announced
// when written, record errors that name the file and the record, an empty file refused, colours
// on request, and usage errors that point to the subcommand's own --help.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include <flashlab/cli/kernel_model.hpp>

#include "cli_runner.hpp"

using namespace flashlab::test;
using flashlab::AttentionShape;
using flashlab::cli::KernelCall;
using flashlab::cli::KernelPrediction;
using flashlab::cli::predict_kernel;
namespace simulator = flashlab::simulator;

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
  nlohmann::json bad_schedule = good, bad_softmax = good, bad_dropout = good, tiny_dropout = good;
  zero_n["N"] = 0;
  bad_dropout["dropout"] = 1.5;
  tiny_dropout["dropout"] = 1e-6;
  no_br.erase("Br");
  naive_zero_d["d"] = 0;
  bad_schedule["schedule"] = "fast";
  bad_softmax["softmax"] = "online";
  const Case cases[] = {
      {"N = 0", zero_n, "(fused_fwd): N must be a whole number between 1 and 2^30, got 0"},
      {"no Br", no_br, "(fused_fwd): no number 'Br'"},
      {"d = 0", naive_zero_d, "(naive_fwd): d must be a whole number between 1 and 2^30, got 0"},
      {"not an object", nlohmann::json(7), ": is not an object"},
      {"unknown schedule", bad_schedule,
       "(fused_fwd): schedule 'fast' is neither 'serial' nor 'overlapped'"},
      {"unknown softmax", bad_softmax,
       "(fused_fwd): softmax 'online' is neither 'fa2' nor 'kept-max'"},
      {"dropout out of range", bad_dropout,
       "(fused_fwd): dropout: dropout probability must be in [0, 1), got 1.5"},
      {"dropout below the mask's resolution", tiny_dropout,
       "(fused_fwd): dropout: dropout probability 1e-06 rounds to 0"},
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

TEST_CASE("an overlapped schedule is predicted faster, by at most the softmax's share") {
  // The d = 128 forward at N = 2048 with our kernel's tiles, as validate predicts it for a record
  // with "schedule": "serial" and with "overlapped" (kernel_model.hpp).
  const AttentionShape shape{4, 16, 2048, 2048, 128};
  const simulator::GpuSpec gpu = simulator::h200_sxm();
  const KernelPrediction serial =
      predict_kernel(KernelCall::FusedForward, shape, {}, 2, {128, 128}, gpu, false);
  const KernelPrediction overlapped =
      predict_kernel(KernelCall::FusedForward, shape, {}, 2, {128, 128}, gpu, true);
  REQUIRE(serial.kernels_only.launches.size() == 1);
  REQUIRE(overlapped.kernels_only.launches.size() == 1);
  const simulator::LaunchPrediction& s = serial.kernels_only.launches[0];
  const simulator::LaunchPrediction& o = overlapped.kernels_only.launches[0];
  CHECK_FALSE(s.softmax_under_matmul);
  CHECK(o.softmax_under_matmul);
  // Same work and bytes. Every unit of this dense problem does the same work, so each unit's
  // time, and the makespan, shrink by max(matmul, rest) / (matmul + rest) of the launch's terms.
  CHECK(o.matmul_s == doctest::Approx(s.matmul_s));
  CHECK(o.l2_bytes == s.l2_bytes);
  const double matmul = s.matmul_s, rest = s.exp_s + s.vector_s;
  CHECK(rest > 0);
  CHECK(o.compute_s < s.compute_s);
  CHECK(o.compute_s == doctest::Approx(s.compute_s * std::max(matmul, rest) / (matmul + rest)));
}

TEST_CASE("a kept running max is predicted faster, and counts no rescale of O past a first block") {
  // The d = 64 forward at N = 2048 with 128 x 128 tiles, overlapped, as validate predicts it for a
  // record with "softmax": "fa2" and with "kept-max": the same products and bytes; the kept max
  // drops O's rescale (Br x d products) and the rescale factors (Br exponentials, 2 Br other ops)
  // at every block but each row block's first (counting-only: every later block is kept).
  const AttentionShape shape{4, 16, 2048, 2048, 64};
  const simulator::GpuSpec gpu = simulator::h200_sxm();
  const KernelPrediction fa2 =
      predict_kernel(KernelCall::FusedForward, shape, {}, 2, {128, 128}, gpu, true, false);
  const KernelPrediction kept =
      predict_kernel(KernelCall::FusedForward, shape, {}, 2, {128, 128}, gpu, true, true);
  const int64_t later_blocks = shape.batch * shape.heads * 16 * 15, br = 128, d = 64;
  CHECK(kept.stats.matmul_flops == fa2.stats.matmul_flops);
  CHECK(kept.stats.total_bytes() == fa2.stats.total_bytes());
  CHECK(fa2.stats.exp_ops - kept.stats.exp_ops == later_blocks * br);
  CHECK(fa2.stats.other_flops - kept.stats.other_flops == later_blocks * (br * d + 2 * br));
  CHECK(kept.prediction.predicted_s < fa2.prediction.predicted_s);
  // The backward recomputes P from L: nothing to keep.
  const KernelPrediction bwd_fa2 =
      predict_kernel(KernelCall::FusedBackward, shape, {}, 2, {128, 128}, gpu, false, false);
  const KernelPrediction bwd_kept =
      predict_kernel(KernelCall::FusedBackward, shape, {}, 2, {128, 128}, gpu, false, true);
  CHECK(bwd_kept.stats.other_flops == bwd_fa2.stats.other_flops);
  CHECK(bwd_kept.stats.exp_ops == bwd_fa2.stats.exp_ops);
}

TEST_CASE("a call measured with dropout is predicted with its draws and has targets of its own") {
  // The model's side: the d = 64 forward at N = 2048, tiles 128 x 128, with and without
  // dropout_p = 0.1: the same products and bytes, one draw per eight elements, a longer time.
  const AttentionShape shape{4, 16, 2048, 2048, 64};
  const simulator::GpuSpec gpu = simulator::h200_sxm();
  flashlab::AttentionOptions dropout;
  dropout.dropout_p = 0.1;
  for (const KernelCall call : {KernelCall::FusedForward, KernelCall::FusedBackward}) {
    const KernelPrediction plain = predict_kernel(call, shape, {}, 2, {128, 128}, gpu, true, true);
    const KernelPrediction drawn =
        predict_kernel(call, shape, dropout, 2, {128, 128}, gpu, true, true);
    CHECK(plain.stats.random_draws == 0);
    CHECK(drawn.stats.random_draws == shape.batch * shape.heads * 2048 * 2048 / 8);
    CHECK(drawn.stats.matmul_flops == plain.stats.matmul_flops);
    CHECK(drawn.stats.total_bytes() == plain.stats.total_bytes());
    CHECK(drawn.kernels_only.predicted_s > plain.kernels_only.predicted_s);
  }
  // validate's side: a record with "dropout" shows it in the table and counts toward the
  // targets with dropout, not toward those without.
  TempDir dir;
  nlohmann::json record;
  for (const nlohmann::json& r : nlohmann::json::parse(read_file(kMeasured)))
    if (r["call"] == "fused_fwd" && r["N"] == 2048) record = r;
  REQUIRE(record.is_object());
  record["dropout"] = 0.1;
  const std::string file = write_json(dir, "dropout.json", nlohmann::json::array({record}));
  const CliResult r = run_flashlab("validate --color never --measured " + file);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("fused forward with dropout, N >= 2048: time within +-25%") !=
        std::string::npos);
  CHECK(r.out.find("fused kernels with dropout, N >= 2048: DRAM bytes within +-30%") !=
        std::string::npos);
  const std::string without = "fused forward, N >= 2048: time within +-25%";  // printed %-88s
  CHECK(r.out.find(without + std::string(88 - without.size(), ' ') + " 0 of 0") !=
        std::string::npos);
  CHECK(r.out.find("0.1") != std::string::npos);
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
