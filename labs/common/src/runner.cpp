// The main of every lab grader: lists the lab's LAB_TESTs, runs each in its own child process
// (a crash, a sanitizer report or an endless loop then costs that test only, as an autograder
// needs), prints one PASS/FAIL line per test with its points and message, the total, and with
// --gradescope writes Gradescope's results.json. Exit 0 only on full marks; 77 = skipped.
// --trace FILE runs the lab's recorder instead (run_recorder.hpp) and writes the student's run.
#define DOCTEST_CONFIG_IMPLEMENT
#define DOCTEST_CONFIG_NO_POSIX_SIGNALS  // a crash must kill the child: the parent reports it
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <flashlab/labs/grading.hpp>
#include <flashlab/labs/run_recorder.hpp>

namespace flashlab::labs {
namespace {

struct TestSpec {
  std::string name;
  int points = 0;
};

struct Outcome {
  bool passed = false;
  std::string message;
  double seconds = 0;
};

// What the reporter saw during one doctest run: the test list, or one test's result.
struct Collector {
  std::vector<TestSpec> listed;
  std::string bad_spec;  // a test with unusable points or name
  bool ran = false, success = false;
  std::string message;
  void add(const std::string& text) {
    if (message.size() > 4000) return;
    message += (message.empty() ? "" : "\n") + text;
  }
};
Collector& collector() {
  static Collector c;
  return c;
}

PreconditionCheck& precondition() {
  static PreconditionCheck check = nullptr;
  return check;
}

RunRecorder& recorder() {
  static RunRecorder r = nullptr;
  return r;
}

class LabReporter : public doctest::IReporter {
 public:
  explicit LabReporter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData& q) override {
    for (unsigned k = 0; k < q.num_data; ++k) {
      const doctest::TestCaseData& t = *q.data[k];
      char* end = nullptr;
      const long points = std::strtol(t.m_description ? t.m_description : "", &end, 10);
      const std::string name = t.m_name;
      if (end == nullptr || *end != '\0' || points <= 0 || name.find(',') != std::string::npos)
        collector().bad_spec = name;
      collector().listed.push_back({name, int(points)});
    }
  }
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { collector().ran = true; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats& s) override {
    collector().success = s.testCaseSuccess;
  }
  void test_case_exception(const doctest::TestCaseException& e) override {
    const std::string what = e.error_string.c_str();
    collector().add(what.rfind("TODO", 0) == 0 ? what : "threw an exception: " + what);
  }
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData& a) override {
    if (!a.m_failed) return;
    std::string text = std::string(a.m_expr) + " is false";
    if (a.m_decomp.size() > 0) text += " (" + std::string(a.m_decomp.c_str()) + ")";
    if (a.m_threw) text += "; threw: " + std::string(a.m_exception.c_str());
    collector().add(text);
  }
  void log_message(const doctest::MessageData& m) override {
    if (m.m_severity & doctest::assertType::is_warn) return;
    collector().add(m.m_string.c_str());
  }
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_REPORTER("flashlab-lab", 1, LabReporter);

std::vector<TestSpec> list_tests() {
  const char* args[] = {"grader", "--list-test-cases", "--reporters=flashlab-lab"};
  doctest::Context ctx(3, args);
  ctx.run();
  return collector().listed;
}

// Runs test number k (1-based, in listing order) in this process.
Outcome run_test_here(int k) {
  Collector& c = collector();
  c.ran = c.success = false;
  c.message.clear();
  doctest::Context ctx;
  ctx.setOption("first", k);
  ctx.setOption("last", k);
  ctx.setOption("reporters", "flashlab-lab");
  ctx.run();
  Outcome o;
  o.passed = c.ran && c.success;
  o.message = c.ran ? c.message : "internal error: the test did not run";
  if (!o.passed && o.message.empty()) o.message = "failed (no message)";
  return o;
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGSEGV:
      return "SIGSEGV (segmentation fault: an out-of-bounds or null access)";
    case SIGABRT:
      return "SIGABRT (abort: a failed assert or a sanitizer report)";
    case SIGFPE:
      return "SIGFPE (arithmetic error)";
    case SIGBUS:
      return "SIGBUS (bad memory access)";
    case SIGILL:
      return "SIGILL (illegal instruction)";
    case SIGKILL:
      return "SIGKILL (killed, out of memory?)";
    default:
      return "a signal";
  }
}

// Runs `body` in a child process with a time limit; its string comes back through a pipe.
// ok = false when the child crashed, timed out or exited without answering.
struct ChildResult {
  bool ok = false;
  std::string payload;  // the body's result, or what went wrong
};
ChildResult run_isolated(const std::function<std::string()>& body, int timeout_s) {
  int fds[2];
  if (pipe(fds) != 0) return {false, "internal error: pipe() failed"};
  std::cout.flush();
  std::fflush(nullptr);  // or the child would print the parent's buffered output again
  const pid_t pid = fork();
  if (pid < 0) return {false, "internal error: fork() failed"};
  if (pid == 0) {
    close(fds[0]);
    alarm(unsigned(timeout_s));
    const std::string out = body();
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = write(fds[1], out.data() + done, out.size() - done);
      if (n <= 0) break;
      done += size_t(n);
    }
    close(fds[1]);
    std::fflush(nullptr);
    _exit(0);
  }
  close(fds[1]);
  std::string payload;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    payload.append(buf, size_t(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (sig == SIGALRM)
      return {false, "timed out after " + std::to_string(timeout_s) +
                         " s (an endless loop? a loop bound that never reaches T_r or T_c?)"};
    return {false, std::string("crashed with ") + signal_name(sig)};
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    return {false, "crashed: exit code " + std::to_string(WEXITSTATUS(status)) +
                       " (the AddressSanitizer/UBSan report above says where)"};
  if (payload.empty()) return {false, "the test process ended without a result"};
  return {true, payload};
}

Outcome run_test(int k, bool isolate, int timeout_s) {
  const auto start = std::chrono::steady_clock::now();
  Outcome o;
  if (!isolate) {
    o = run_test_here(k);
  } else {
    const ChildResult r = run_isolated(
        [k] {
          const Outcome here = run_test_here(k);
          return std::string(here.passed ? "P" : "F") + here.message;
        },
        timeout_s);
    o.passed = r.ok && r.payload[0] == 'P';
    o.message = r.ok ? r.payload.substr(1) : r.payload;
    if (r.payload.rfind("crashed with", 0) == 0)
      o.message += "; run this test alone (--only) under a debugger to see where";
  }
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return o;
}

struct Options {
  std::string gradescope, only, trace;
  int timeout_s = 120;
  bool isolate = true, list = false;
};

void usage(const char* argv0) {
  std::printf(
      "usage: %s [--gradescope results.json] [--answers FILE] [--only TEXT] [--timeout S]\n"
      "          [--no-fork] [--list] [--trace FILE]\n"
      "  --gradescope FILE  also write Gradescope's results.json\n"
      "  --answers FILE     the answers file to grade (default: %s)\n"
      "  --only TEXT        run only the tests whose name contains TEXT\n"
      "  --timeout S        seconds per test before it counts as failed (default 120)\n"
      "  --no-fork          run the tests in this process (to debug one with gdb)\n"
      "  --list             list the tests and their points\n"
      "  --trace FILE       do not grade: run your code on the handout's small case and write\n"
      "                     what it did to FILE for flashlab-viz (labs 1, 3 and 6)\n",
      argv0, lab_info().answers_path);
}

void write_gradescope(const std::string& path, const std::vector<TestSpec>& tests,
                      const std::vector<Outcome>& outcomes, const std::string& summary) {
  nlohmann::json j;
  double score = 0, max_score = 0, seconds = 0;
  j["tests"] = nlohmann::json::array();
  for (size_t k = 0; k < outcomes.size(); ++k) {
    const int got = outcomes[k].passed ? tests[k].points : 0;
    score += got;
    max_score += tests[k].points;
    seconds += outcomes[k].seconds;
    j["tests"].push_back({{"name", tests[k].name},
                          {"score", got},
                          {"max_score", tests[k].points},
                          {"status", outcomes[k].passed ? "passed" : "failed"},
                          {"output", outcomes[k].passed ? "" : outcomes[k].message},
                          {"visibility", "visible"}});
  }
  j["score"] = score;
  j["max_score"] = max_score;
  j["execution_time"] = seconds;
  j["output"] = summary;
  j["visibility"] = "visible";
  j["stdout_visibility"] = "visible";
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  if (!out) std::fprintf(stderr, "could not write %s\n", path.c_str());
}

// --trace: the recorder in a child process (the student's code may crash or loop). Exit 0 when
// the run was written and finished, 1 when it stopped early or crashed, 2 when this lab has no
// recorder or the file cannot be written.
int record_run(const std::string& path, int timeout_s) {
  const LabInfo& info = lab_info();
  if (recorder() == nullptr) {
    std::fprintf(stderr,
                 "--trace: lab %s has no run to record: only labs 1, 3 and 6 run your code step by "
                 "step (lab 1 on its own blocks, labs 3 and 6 on the simulator's Machine)\n",
                 info.id);
    return 2;
  }
  const ChildResult r = run_isolated(
      [&path] {
        try {
          const RecordedRun run = recorder()(path);
          return (run.finished ? "F" : "I") + run.report;
        } catch (const std::exception& e) {
          return std::string("E") + e.what();
        }
      },
      timeout_s);
  if (!r.ok) {
    std::printf("while your run was recorded, your code %s; %s was not written\n",
                r.payload.c_str(), path.c_str());
    return 1;
  }
  if (r.payload[0] == 'E') {
    std::fprintf(stderr, "--trace: %s\n", r.payload.c_str() + 1);
    return 2;
  }
  std::printf("%s\n", r.payload.c_str() + 1);
  return r.payload[0] == 'F' ? 0 : 1;
}

}  // namespace

bool register_precondition(PreconditionCheck check) {
  precondition() = check;
  return true;
}

bool register_run_recorder(RunRecorder r) {
  recorder() = r;
  return true;
}

}  // namespace flashlab::labs

int main(int argc, char** argv) {
  using namespace flashlab::labs;
  Options opt;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    const bool has_value = a + 1 < argc;
    if (arg == "--gradescope" && has_value)
      opt.gradescope = argv[++a];
    else if (arg == "--answers" && has_value)
      set_answers_path(argv[++a]);
    else if (arg == "--only" && has_value)
      opt.only = argv[++a];
    else if (arg == "--timeout" && has_value)
      opt.timeout_s = std::max(1, std::atoi(argv[++a]));
    else if (arg == "--no-fork")
      opt.isolate = false;
    else if (arg == "--list")
      opt.list = true;
    else if (arg == "--trace" && has_value)
      opt.trace = argv[++a];
    else {
      usage(argv[0]);
      return arg == "--help" || arg == "-h" ? 0 : 2;
    }
  }
  const LabInfo& info = lab_info();
  const std::string header = std::string("flashlab lab ") + info.id + ": " + info.title +
                             "  [implementation: " + info.impl + "]";
  if (precondition() != nullptr) {
    const auto r = run_isolated([] { return "R" + precondition()(); }, opt.timeout_s);
    const std::string reason = r.ok ? r.payload.substr(1) : r.payload;
    if (!reason.empty()) {
      std::printf("%s\nSKIPPED: %s\n", header.c_str(), reason.c_str());
      if (!opt.gradescope.empty()) write_gradescope(opt.gradescope, {}, {}, "SKIPPED: " + reason);
      return 77;
    }
  }
  if (!opt.trace.empty()) {
    std::printf("%s\n", header.c_str());
    std::fflush(stdout);
    return record_run(opt.trace, opt.timeout_s);
  }
  std::vector<TestSpec> tests = list_tests();
  if (!collector().bad_spec.empty() || tests.empty()) {
    std::fprintf(stderr, "grader error: test '%s' needs positive integer points and no ','\n",
                 collector().bad_spec.c_str());
    return 2;
  }
  std::printf("%s\n", header.c_str());
  if (opt.list) {
    for (const TestSpec& t : tests) std::printf("  %3d  %s\n", t.points, t.name.c_str());
    return 0;
  }
  std::vector<TestSpec> ran;
  std::vector<Outcome> outcomes;
  int score = 0, max_score = 0, failed = 0;
  for (size_t k = 0; k < tests.size(); ++k) {
    if (!opt.only.empty() && tests[k].name.find(opt.only) == std::string::npos) continue;
    const Outcome o = run_test(int(k) + 1, opt.isolate, opt.timeout_s);
    std::printf("  %s %3d/%-3d %s  (%.2f s)\n", o.passed ? "PASS" : "FAIL",
                o.passed ? tests[k].points : 0, tests[k].points, tests[k].name.c_str(), o.seconds);
    if (!o.passed) {
      size_t start = 0;
      while (start <= o.message.size()) {
        const size_t end = std::min(o.message.find('\n', start), o.message.size());
        std::printf("           %s\n", o.message.substr(start, end - start).c_str());
        start = end + 1;
      }
      ++failed;
    }
    std::fflush(stdout);
    score += o.passed ? tests[k].points : 0;
    max_score += tests[k].points;
    ran.push_back(tests[k]);
    outcomes.push_back(o);
  }
  const std::string summary = "Score: " + std::to_string(score) + "/" + std::to_string(max_score) +
                              " (" + std::to_string(failed) + " of " +
                              std::to_string(outcomes.size()) + " tests failed)";
  std::printf("%s\n", summary.c_str());
  // A grader built for a submission lives in a scratch folder: flashlab-grade says how to rerun.
  const char* rerun = std::getenv("FLASHLAB_GRADE_RERUN");
  if (failed > 0)
    std::printf("Run one test again with: %s --only 'part of its name'\n",
                rerun != nullptr ? rerun : argv[0]);
  if (!opt.gradescope.empty())
    write_gradescope(opt.gradescope, ran, outcomes, header + "\n" + summary);
  return failed == 0 && !outcomes.empty() ? 0 : 1;
}
