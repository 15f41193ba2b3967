// flashlab_lab_submit: what `flashlab-grade LAB --submission PATH` and `--submissions DIR` run
// (labs/cmake/flashlab-grade.in passes the build's paths). Grades files that are not in the tree:
// each submission's grader is built in a scratch folder from the build's own commands.
//   --submission PATH [--keep] [--compile-timeout S] [GRADER OPTIONS...]
//   --submissions DIR [--out DIR] [-j N] [--timeout S] [--grader-timeout S]
//                     [--compile-timeout S] [--keep]
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <flashlab/core/error.hpp>

#include "batch.hpp"
#include "process.hpp"
#include "submission.hpp"

namespace fs = std::filesystem;
using namespace flashlab;
using namespace flashlab::labs::submit;

namespace {

struct Options {
  std::string build_dir, ninja, lab_dir, lab_id;
  std::string submission, submissions, out;
  bool keep = false;
  int jobs = 0;
  Limits limits;
  std::vector<std::string> grader_args;  // --submission: passed to the grader
};

double positive(const std::string& option, const std::string& value) {
  char* end = nullptr;
  const double x = std::strtod(value.c_str(), &end);
  require(end != value.c_str() && *end == '\0' && x > 0 && x <= 1e6,
          option + ": expected a number of seconds > 0, got '" + value + "'");
  return x;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    auto value = [&]() -> std::string {
      require(a + 1 < argc, arg + " needs a value");
      return argv[++a];
    };
    if (arg == "--build-dir")
      o.build_dir = value();
    else if (arg == "--ninja")
      o.ninja = value();
    else if (arg == "--lab-dir")
      o.lab_dir = value();
    else if (arg == "--lab-id")
      o.lab_id = value();
    else if (arg == "--submission")
      o.submission = value();
    else if (arg == "--submissions")
      o.submissions = value();
    else if (arg == "--out" && !o.submissions.empty())
      o.out = value();
    else if (arg == "-j" && !o.submissions.empty()) {
      const std::string v = value();
      o.jobs = std::atoi(v.c_str());
      require(o.jobs >= 1 && o.jobs <= 1024 && v == std::to_string(o.jobs),
              "-j: expected the number of submissions to grade at once (1..1024), got '" + v + "'");
    } else if (arg == "--timeout" && !o.submissions.empty())
      o.limits.test_timeout_s = int(positive(arg, value()));
    else if (arg == "--grader-timeout" && !o.submissions.empty())
      o.limits.grader_s = positive(arg, value());
    else if (arg == "--compile-timeout")
      o.limits.compile_s = positive(arg, value());
    else if (arg == "--keep")
      o.keep = true;
    else if (!o.submission.empty())
      o.grader_args.push_back(arg);  // the grader checks its own options
    else
      throw Error("unknown option " + arg + " (see flashlab-grade --help)");
  }
  require(!o.build_dir.empty() && !o.ninja.empty() && !o.lab_dir.empty() && !o.lab_id.empty(),
          "--build-dir, --ninja, --lab-dir and --lab-id are required (flashlab-grade passes them)");
  require(o.submission.empty() != o.submissions.empty(),
          "give one of --submission PATH and --submissions DIR");
  return o;
}

int grade_one(const Options& o) {
  const Lab lab = load_lab(o.lab_dir, o.lab_id, o.ninja, o.build_dir);
  const Files files = find_files(lab, o.submission);
  for (const std::string& note : files.notes) std::printf("note: %s\n", note.c_str());
  std::string work = (fs::temp_directory_path() / "flashlab-submission-XXXXXX").string();
  require(mkdtemp(work.data()) != nullptr,
          "cannot create a scratch folder in " + fs::temp_directory_path().string());
  const std::string log = (fs::path(work) / "build.log").string();
  std::string exe;
  double seconds = 0;
  std::printf("building lab %s's grader against %s in %s\n", o.lab_id.c_str(), o.submission.c_str(),
              work.c_str());
  std::fflush(stdout);
  const std::string why = build(lab, files, work, log, o.limits.compile_s, exe, seconds);
  {
    std::ifstream in(log);
    std::cout << in.rdbuf() << std::flush;
  }
  int code = 1;
  if (!why.empty()) {
    std::printf("flashlab-grade: %s\n", why.c_str());
    for (size_t k = 0; k + 1 < o.grader_args.size(); ++k)
      if (o.grader_args[k] == "--gradescope") {
        std::ifstream in(log);
        const std::string text((std::istreambuf_iterator<char>(in)), {});
        write_zero_results(lab, o.grader_args[k + 1],
                           "Nothing was graded: " + why + "\nThe compiler says:\n" +
                               text.substr(text.size() > 20000 ? text.size() - 20000 : 0));
      }
  } else {
    std::string command =
        "FLASHLAB_GRADE_RERUN=" +
        shell_quote("flashlab-grade " + o.lab_id + " --submission " + shell_quote(o.submission)) +
        " exec " + shell_quote(exe);
    bool answers_given = false;
    for (const std::string& a : o.grader_args) answers_given = answers_given || a == "--answers";
    if (!answers_given) command += " --answers " + shell_quote(files.answers);
    for (const std::string& a : o.grader_args) command += " " + shell_quote(a);
    const CommandResult r = run_command(command, fs::current_path().string(), "", 0);
    code = r.status == CommandResult::Status::Exited ? r.code : 1;
    if (r.status != CommandResult::Status::Exited)
      std::printf("flashlab-grade: the grader %s\n", describe(r, 0).c_str());
  }
  if (o.keep)
    std::printf("kept the submission's grader and its build in %s\n", work.c_str());
  else
    fs::remove_all(work);
  return code;
}

int grade_many(const Options& o) {
  const Lab lab = load_lab(o.lab_dir, o.lab_id, o.ninja, o.build_dir);
  BatchOptions b;
  b.dir = o.submissions;
  while (b.dir.size() > 1 && b.dir.back() == '/') b.dir.pop_back();
  b.out = o.out.empty() ? b.dir + "-grades" : o.out;
  b.jobs = o.jobs > 0 ? o.jobs : int(std::max(1u, std::thread::hardware_concurrency()));
  b.keep = o.keep;
  b.limits = o.limits;
  const size_t count = list_students(b.dir).size();
  std::printf("grading %zu submissions of lab %s, %d at a time (grader limit %g s, compile %g s)\n",
              count, o.lab_id.c_str(), b.jobs, b.limits.grader_s, b.limits.compile_s);
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  const std::vector<Result> results = grade_all(lab, b, std::cout);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string csv = (fs::path(b.out) / "grades.csv").string();
  write_csv(lab, results, csv);

  std::map<std::string, int> by_status;
  double build = 0, grade = 0;
  for (const Result& r : results) {
    ++by_status[to_string(r.status)];
    build += r.build_seconds;
    grade += r.grade_seconds;
  }
  std::string counts;
  for (const auto& [status, n] : by_status)
    counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + status;
  const double n = double(std::max<size_t>(1, results.size()));
  std::printf(
      "graded %zu submissions in %.1f s with -j %d: %s\nmean per submission, on one worker: "
      "build %.2f s, grade %.2f s\ngrades: %s\nreports: %s/reports/, Gradescope results: "
      "%s/results/\n",
      results.size(), seconds, b.jobs, counts.c_str(), build / n, grade / n, csv.c_str(),
      b.out.c_str(), b.out.c_str());
  return by_status.count(to_string(Result::Status::NotGraded)) ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  kill_commands_on_signals();
  try {
    const Options o = parse(argc, argv);
    return o.submission.empty() ? grade_many(o) : grade_one(o);
  } catch (const Error& e) {
    std::fprintf(stderr, "flashlab-grade: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "flashlab-grade: %s\n", e.what());
    return 2;
  }
}
