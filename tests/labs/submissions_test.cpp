// flashlab-grade --submission and --submissions end to end on lab 3 (instructor tree: a copy of
// the solution is one of the submissions). The tree is never edited; a submission that does not
// compile, crashes or hangs gets 0 with the reason, and the batch goes on.
#include <doctest/doctest.h>

#ifdef FLASHLAB_GRADE

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const std::string kGrade = FLASHLAB_GRADE;
const fs::path kLabs = FLASHLAB_LABS_SOURCE_DIR;
const fs::path kFixtures = FLASHLAB_SUBMISSIONS_DIR;
const fs::path kWork = FLASHLAB_TEST_WORK_DIR;

// The class's per-test and per-grader limits. Under AddressSanitizer (the asan preset) the graded
// code runs several times slower, and a correct submission's test, beside a hanging one on two
// cores, once took more than 2 s (CI replica, 2026-11-30): both limits grow there, so that the
// hanging fixtures are still stopped for the reasons the test expects (9 tests x 5 s within 90).
#if defined(__SANITIZE_ADDRESS__)
constexpr int kTestLimitS = 5, kGraderLimitS = 90;
#else
constexpr int kTestLimitS = 2, kGraderLimitS = 20;
#endif

struct Run {
  int code = -1;
  std::string output;
};

Run run(const std::string& command) {
  Run r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) r.output.append(buf, n);
  const int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A copy of the solution in a subfolder, with a submitted header that would break the build if
// it were used instead of the lab's.
void solution_copy(const fs::path& dir) {
  fs::create_directories(dir / "my work");
  fs::copy_file(kLabs / "solutions/03-io-aware/io_aware.cpp", dir / "my work/io_aware.cpp");
  fs::copy_file(kLabs / "solutions/03-io-aware/answers.txt", dir / "answers.txt");
  std::ofstream(dir / "my work/io_aware.hpp") << "#error the lab's header must be used\n";
}

std::vector<std::string> split(const std::string& line) {  // fields without quotes or commas
  std::vector<std::string> f;
  std::string cur;
  bool quoted = false;
  for (const char c : line) {
    if (c == '"')
      quoted = !quoted;
    else if (c == ',' && !quoted)
      f.push_back(cur), cur.clear();
    else
      cur += c;
  }
  f.push_back(cur);
  return f;
}

// Lab 3's tests as its grader's --list prints them ("POINTS  NAME" lines), each spelled as the
// grades.csv header names a column, "NAME (POINTS)", so the checks below follow the grader when
// a test is added or re-weighted.
std::vector<std::string> lab3_tests() {
  const Run r = run(kGrade + " 3 --list");
  REQUIRE(r.code == 0);
  std::istringstream lines(r.output);
  std::vector<std::string> tests;
  for (std::string line; std::getline(lines, line);) {
    int points = 0, name_at = 0;
    if (std::sscanf(line.c_str(), " %d %n", &points, &name_at) == 1 && points > 0 && name_at > 0)
      tests.push_back(line.substr(size_t(name_at)) + " (" + std::to_string(points) + ")");
  }
  REQUIRE(tests.size() >= 9);  // the handout's nine tests at least
  return tests;
}

}  // namespace

TEST_SUITE("submissions") {
  TEST_CASE("Gradescope's run_autograder grades the submission folder into results.json") {
    const fs::path root = kWork / "autograder";
    fs::remove_all(root);
    solution_copy(root / "submission");
    const std::string env = "AUTOGRADER_ROOT=" + root.string() +
                            " FLASHLAB_BUILD=" + fs::path(kGrade).parent_path().string() +
                            " LAB=3 ";
    const std::string script = (kLabs / "gradescope/run_autograder").string();
    Run r = run(env + script);
    INFO(r.output);
    CHECK(r.code == 0);
    nlohmann::json j = nlohmann::json::parse(read(root / "results/results.json"));
    CHECK(j["score"] == 100);
    CHECK(j["max_score"] == 100);

    fs::remove_all(root / "submission");
    fs::copy(kFixtures / "03-io-aware/does_not_compile", root / "submission");
    r = run(env + script);
    CHECK(r.code == 0);
    j = nlohmann::json::parse(read(root / "results/results.json"));
    CHECK(j["score"] == 0);
    CHECK(has(j["output"].get<std::string>(),
              "Nothing was graded: io_aware.cpp does not compile: io_aware.cpp:8:3: error:"));
    CHECK(has(j["output"].get<std::string>(), "TileSize"));
  }

  TEST_CASE("--submission grades a folder or a file without touching the tree") {
    const std::string skeleton = read(kLabs / "03-io-aware/student/io_aware.cpp");
    const fs::path dir = kWork / "one_submission";
    fs::remove_all(dir);
    solution_copy(dir / "alice");

    Run r = run(kGrade + " 3 --submission '" + (dir / "alice").string() + "'");
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(has(r.output, "Score: 100/100"));

    // One file under another name: the skeleton, so every code test fails with its TODO.
    fs::copy_file(kLabs / "03-io-aware/student/io_aware.cpp", dir / "mine.cpp");
    r = run(kGrade + " io-aware --submission " + (dir / "mine.cpp").string() + " --timeout 30");
    CHECK(r.code == 1);
    CHECK(has(r.output, "note: graded mine.cpp as io_aware.cpp"));
    CHECK(has(r.output, "TODO not done yet"));
    CHECK(has(r.output, "Run one test again with: flashlab-grade 03 --submission '" +
                            (dir / "mine.cpp").string() + "' --only"));

    // Its run, recorded as `--trace` does for the student's own copy.
    r = run(kGrade + " 3 --submission '" + (dir / "alice").string() + "' --trace " +
            (dir / "alice.json").string());
    CHECK(r.code == 0);
    CHECK(fs::exists(dir / "alice.json"));
    CHECK(fs::exists(dir / "alice.solution.json"));

    // Does not compile: 0 points, the compiler's error, and Gradescope's results.json.
    const fs::path json = dir / "results.json";
    r = run(kGrade + " 3 --submission " + (kFixtures / "03-io-aware/does_not_compile").string() +
            " --gradescope " + json.string());
    CHECK(r.code == 1);
    CHECK(has(r.output, "io_aware.cpp does not compile:"));
    CHECK(has(r.output, "error"));
    const nlohmann::json j = nlohmann::json::parse(read(json));
    CHECK(j["score"] == 0);
    CHECK(j["max_score"] == 100);
    CHECK(j["tests"].size() == lab3_tests().size());
    CHECK(has(j["output"].get<std::string>(), "does not compile"));

    // A run that crashes while it is recorded is reported, and nothing is written.
    r = run(kGrade + " 3 --submission " + (kFixtures / "03-io-aware/crashes").string() +
            " --trace " + (dir / "crash.json").string());
    CHECK(r.code == 1);
    // (Under AddressSanitizer the SIGSEGV is its report and exit code 1.)
    CHECK(has(r.output, "while your run was recorded, your code crashed"));
    CHECK_FALSE(fs::exists(dir / "crash.json"));

    r = run(kGrade + " 3 --submission /nonexistent/alice");
    CHECK(r.code == 2);
    CHECK(has(r.output, "no file or folder /nonexistent/alice"));
    r = run(kGrade + " 3 --submission x --impl solution");
    CHECK(r.code == 2);

    CHECK(read(kLabs / "03-io-aware/student/io_aware.cpp") == skeleton);
  }

  TEST_CASE("--trace records labs 1, 3 and 6, says where a skeleton stops, and refuses lab 2") {
    const fs::path dir = kWork / "traces";
    fs::remove_all(dir);
    fs::create_directories(dir);
    for (const char* lab : {"1", "3", "6"}) {
      CAPTURE(lab);
      const Run r = run(kGrade + " " + lab + " --impl solution --trace " +
                        (dir / (std::string("lab") + lab + ".json")).string());
      CHECK(r.code == 0);
      CHECK(fs::file_size(dir / (std::string("lab") + lab + ".json")) > 1000);
    }
    CHECK(fs::exists(dir / "lab3.solution.json"));
    CHECK(fs::exists(dir / "lab6.solution.json"));
    // The untouched skeleton: the trace is written up to its TODO, exit code 1.
    Run r = run(kGrade + " 3 --trace " + (dir / "skeleton.json").string());
    CHECK(r.code == 1);
    CHECK(has(r.output, "your code stopped early: TODO not done yet"));
    CHECK(fs::exists(dir / "skeleton.json"));
    r = run(kGrade + " 2 --trace " + (dir / "lab2.json").string());
    CHECK(r.code == 2);
    CHECK(has(r.output, "--trace: lab 02 has no run to record"));
  }

  TEST_CASE("stopping a batch (SIGTERM, Ctrl-C) stops every grader it started") {
    const fs::path dir = kWork / "hang_class";
    fs::remove_all(dir);
    fs::remove_all(kWork / "hang_class-grades");
    fs::create_directories(dir);
    fs::copy(kFixtures / "03-io-aware/hangs", dir / "a");
    fs::copy(kFixtures / "03-io-aware/hangs", dir / "b");
    // Stopped while both graders hang (their tests allow 60 s each); then nothing may be left
    // but this shell ($$, whose command line names the folder too).
    const Run r = run("(" + kGrade + " 3 --submissions " + dir.string() +
                      " -j 2 --timeout 60 & pid=$!; sleep 25; kill $pid; wait $pid; echo rc=$?); "
                      "sleep 1; pgrep -f 'hang_[c]lass' | grep -vx $$ || echo none left");
    INFO(r.output);
    CHECK(has(r.output, "rc=143"));  // ended by SIGTERM, as it was sent
    CHECK(has(r.output, "none left"));
  }

  TEST_CASE("--submissions grades a class: 0 with the reason for what does not build or run") {
    const fs::path dir = kWork / "class", out = kWork / "class-grades";
    fs::remove_all(dir);
    fs::remove_all(out);
    solution_copy(dir / "alice");
    fs::create_directories(dir / "bob");
    fs::copy_file(kLabs / "03-io-aware/student/io_aware.cpp", dir / "bob/io_aware.cpp");
    fs::create_directories(dir / "carol, the empty one");
    for (const char* bad :
         {"does_not_compile", "crashes", "crashes_at_start", "hangs", "hangs_at_start"})
      fs::copy(kFixtures / "03-io-aware" / bad, dir / bad);

    // Relative folders, as an instructor types them.
    const Run r =
        run("cd " + kWork.string() + " && " + kGrade +
            " 3 --submissions class --out class-grades -j 2 --timeout " +
            std::to_string(kTestLimitS) + " --grader-timeout " + std::to_string(kGraderLimitS));
    INFO(r.output);
    REQUIRE(r.code == 0);
    CHECK(has(r.output, "graded 8 submissions in"));

    std::istringstream csv(read(out / "grades.csv"));
    std::string line;
    std::getline(csv, line);
    const std::vector<std::string> header = split(line);
    const std::vector<std::string> tests = lab3_tests();
    REQUIRE(header.size() == 5 + tests.size());
    CHECK(header[0] == "student");
    CHECK(header[5] == "your tiles fit a 48 KiB SRAM at N=1024 and d=64 (5)");
    for (size_t i = 0; i < tests.size(); ++i) CHECK(header[5 + i] == tests[i]);
    std::map<std::string, std::vector<std::string>> rows;
    while (std::getline(csv, line)) {
      const auto f = split(line);
      REQUIRE(f.size() == header.size());
      rows[f[0]] = f;
    }
    REQUIRE(rows.size() == 8);
    auto check = [&](const std::string& s, const std::string& score, const std::string& status,
                     const std::string& reason) {
      CAPTURE(s);
      const auto& f = rows.at(s);
      CHECK(f[1] == score);
      CHECK(f[2] == "100");
      CHECK(f[3] == status);
      CHECK_MESSAGE(has(f[4], reason), f[4]);
      CHECK(fs::exists(out / "reports" / (s + ".txt")));
      const nlohmann::json j = nlohmann::json::parse(read(out / "results" / (s + ".json")));
      double sum = 0;
      for (const auto& t : j["tests"]) sum += t["score"].get<double>();
      CHECK(j["score"].get<double>() == sum);
      CHECK(std::to_string(int(sum)) == score);
    };
    check("alice", "100", "graded", "");
    check("bob", "0", "graded", "not submitted: answers.txt");
    check("carol, the empty one", "0", "graded", "not submitted: io_aware.cpp");
    check("does_not_compile", "0", "does not compile",
          "io_aware.cpp does not compile: io_aware.cpp:8:3: error:");
    check("crashes", "0", "graded", "tests crashed");
    check("crashes_at_start", "0", "crashed", "did not report a score: killed by SIGABRT");
    check("hangs", "0", "graded", "tests timed out");
    check("hangs_at_start", "0", "timed out",
          "did not finish: timed out after " + std::to_string(kGraderLimitS) +
              " s before any test finished");
    CHECK(has(read(out / "reports/does_not_compile.txt"), "TileSize"));
    CHECK_FALSE(fs::exists(out / "work"));
  }
}

#endif  // FLASHLAB_GRADE
