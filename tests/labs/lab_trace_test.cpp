// record_machine_run: what `flashlab-grade 3|6 --trace` writes. The student's trace and the
// simulator's are read back with the trace reader; a correct run matches the simulator's step
// for step, and a run that stops early is written up to where it stopped.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <flashlab/core/error.hpp>
#include <flashlab/labs/lab_trace.hpp>
#include <flashlab/simulator/algorithms/flash_forward.hpp>
#include <flashlab/simulator/trace/trace_json.hpp>

using namespace flashlab;
namespace sim = flashlab::simulator;

namespace {

sim::Trace read(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(bool(in), "cannot open " << path);
  return sim::read_trace_json(in);
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("flashlab_lab_trace_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

labs::MachineCase small_case(bool causal) {
  labs::MachineCase c;
  c.shape = {1, 1, 48, 40, 8};
  c.tiles = {16, 8};
  c.sram_bytes = 4096;
  c.options.causal = causal;
  c.seed = 11;
  return c;
}

}  // namespace

TEST_CASE("solution_path puts .solution before the extension") {
  CHECK(labs::solution_path("run.json") == "run.solution.json");
  CHECK(labs::solution_path("dir.v2/run") == "dir.v2/run.solution.json");
  CHECK(labs::solution_path("a/b.c/run.trace.json") == "a/b.c/run.trace.solution.json");
}

TEST_CASE("a student's run that is the simulator's algorithm matches the simulator's trace") {
  for (const bool causal : {false, true}) {
    INFO("causal " << causal);
    const std::string path = temp_path(causal ? "causal.json" : "dense.json");
    const labs::StudentRun student{"a student's forward", sim::flash_forward_code(causal).lines,
                                   [](sim::Machine& M, const sim::HeadProblem& p) {
                                     M.at(7, 7);  // indices a student sets are overwritten
                                     sim::flash_forward(M, p);
                                   }};
    const labs::RecordedRun run = labs::record_machine_run(path, small_case(causal), student);
    CHECK(run.finished);
    CHECK(run.report.find("flashlab-viz --trace " + path + " --compare " +
                          labs::solution_path(path)) != std::string::npos);
    const sim::Trace mine = read(path), theirs = read(labs::solution_path(path));
    CHECK(mine.title == "a student's forward");
    CHECK(mine.shape.seq_q == 48);
    CHECK(mine.shape.seq_k == 40);
    CHECK(mine.tiles.block_cols == 8);
    CHECK(mine.causal == causal);
    REQUIRE(mine.events.size() == theirs.events.size());
    for (size_t k = 0; k < mine.events.size(); ++k) {
      const sim::Event &a = mine.events[k], &b = theirs.events[k];
      INFO("event " << k);
      CHECK(a.kind == b.kind);
      CHECK(a.tensor == b.tensor);
      CHECK(a.bytes == b.bytes);
      CHECK(a.rect.row0 == b.rect.row0);
      CHECK(a.i == b.i);
      CHECK(a.j == b.j);
    }
    // Same inputs on both sides: the softmax statistics agree to the bit.
    REQUIRE(mine.softmax_rows.size() == theirs.softmax_rows.size());
    for (size_t k = 0; k < mine.softmax_rows.size(); ++k)
      CHECK(mine.softmax_rows[k].m_new == theirs.softmax_rows[k].m_new);
    std::remove(path.c_str());
    std::remove(labs::solution_path(path).c_str());
  }
}

TEST_CASE("a run that stops early is written up to where it stopped, and says why") {
  const std::string path = temp_path("stopped.json");
  int loads = 0;
  const labs::StudentRun student{"a student's forward", sim::flash_forward_code(false).lines,
                                 [&loads](sim::Machine& M, const sim::HeadProblem& p) {
                                   M.hbm().define(sim::TensorId::O, p.seq_q, p.head_dim);
                                   const sim::Tile K0 = M.load(6, "K_j", sim::TensorId::K,
                                                               p.kv_block(0, p.head_dim));
                                   ++loads;
                                   M.free(15, K0);
                                   throw Error("SRAM overflow (made up)");
                                 }};
  const labs::RecordedRun run = labs::record_machine_run(path, small_case(false), student);
  CHECK_FALSE(run.finished);
  CHECK(loads == 1);
  CHECK(run.report.find("SRAM overflow (made up)") != std::string::npos);
  const sim::Trace mine = read(path);
  CHECK(mine.title.find("stopped early") != std::string::npos);
  REQUIRE(mine.events.size() == 3);  // alloc, load, free
  CHECK(mine.events[1].kind == sim::EventKind::Load);
  CHECK(mine.events[1].j == 0);
  CHECK(mine.events[1].i == -1);
  CHECK(read(labs::solution_path(path)).events.size() > 3);
  std::remove(path.c_str());
  std::remove(labs::solution_path(path).c_str());
}

TEST_CASE("a file that cannot be written is an error naming it") {
  const labs::StudentRun student{"s", {}, [](sim::Machine&, const sim::HeadProblem&) {}};
  CHECK_THROWS_WITH_AS(
      labs::record_machine_run("/nonexistent-dir/run.json", small_case(false), student),
      "cannot write /nonexistent-dir/run.json", Error);
}
