// The pieces of grading a submission outside the tree (labs/common/src/submit): the build's
// commands turned into a submission's, finding the files of a submission, CSV fields, and
// commands run under a time limit with everything they start.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <flashlab/core/error.hpp>

#include "batch.hpp"
#include "process.hpp"
#include "recipe.hpp"
#include "submission.hpp"

using namespace flashlab;
using namespace flashlab::labs::submit;
namespace fs = std::filesystem;

namespace {

// What `ninja -t commands grade_03_student` prints, shortened (the grader's own objects first,
// the link last).
const std::string kNinja =
    "ccache /usr/bin/c++ -I/src/labs/03-io-aware/student -O2 -MD -MT a/grader.cpp.o -MF "
    "a/grader.cpp.o.d -o a/grader.cpp.o -c /src/labs/03-io-aware/grader/grade_io_aware.cpp\n"
    "ccache /usr/bin/c++ -I/src/labs/03-io-aware/student -O2 -MD -MT s/io_aware.cpp.o -MF "
    "s/io_aware.cpp.o.d -o s/io_aware.cpp.o -c /src/labs/03-io-aware/student/io_aware.cpp\n"
    ": && /usr/bin/c++ -O2 a/grader.cpp.o s/io_aware.cpp.o -o labs/03-io-aware/grade_03_student "
    " libsim.a && :\n";

fs::path fresh_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() /
                     ("flashlab_submit_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// A process that exists and is not a zombie waiting to be reaped.
bool alive(pid_t pid) {
  if (kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_text, name, state;
  stat >> pid_text >> name >> state;
  return state != "Z";
}

Lab lab3_like(const fs::path& root) {
  Lab lab;
  lab.id = "03";
  lab.sources = {(root / "skeleton" / "io_aware.cpp").string()};
  lab.answers = (root / "skeleton" / "answers.txt").string();
  return lab;
}

}  // namespace

TEST_CASE("the build's commands become a submission's: its source, object, depfile and exe") {
  const Recipe r = read_recipe(kNinja, {"/src/labs/03-io-aware/student/io_aware.cpp"});
  REQUIRE(r.compiles.size() == 1);
  CHECK(r.compiles[0].object == "s/io_aware.cpp.o");
  CHECK(r.exe == "labs/03-io-aware/grade_03_student");
  CHECK(compile_command(r.compiles[0], "/w/src/io_aware.cpp", "/w/obj/x.o") ==
        "ccache /usr/bin/c++ -I/src/labs/03-io-aware/student -O2 -MD -MT '/w/obj/x.o' -MF "
        "'/w/obj/x.o'.d -o '/w/obj/x.o' -c '/w/src/io_aware.cpp'");
  CHECK(link_command(r, {"/w/obj/x.o"}, "/w/my grader") ==
        ": && /usr/bin/c++ -O2 a/grader.cpp.o '/w/obj/x.o' -o '/w/my grader'  libsim.a && :");
}

TEST_CASE("a build without the student's file or its object in the link is refused") {
  CHECK_THROWS_WITH_AS(read_recipe(kNinja, {"/src/labs/03-io-aware/student/other.cpp"}),
                       doctest::Contains("no compile command for"), Error);
  std::string unlinked = kNinja;
  unlinked.replace(unlinked.find(" s/io_aware.cpp.o -o labs"), 17, " ");
  CHECK_THROWS_WITH_AS(read_recipe(unlinked, {"/src/labs/03-io-aware/student/io_aware.cpp"}),
                       doctest::Contains("is not in the grader's link command"), Error);
  CHECK_THROWS_WITH_AS(read_recipe("", {}), doctest::Contains("lists no commands"), Error);
}

TEST_CASE("a submission's files are found by name at any depth, the shallowest first") {
  const fs::path root = fresh_dir("find");
  const Lab lab = lab3_like(root);
  const fs::path sub = root / "alice";
  write(sub / "work" / "deep" / "io_aware.cpp", "deep");
  write(sub / "work" / "io_aware.cpp", "shallow");
  write(sub / "io_aware.hpp", "#error a submitted header is never used");
  write(sub / "__MACOSX" / "answers.txt", "resource fork");
  write(sub / ".git" / "answers.txt", "not this one");
  Files f = find_files(lab, sub.string());
  CHECK(f.any_source);
  CHECK(f.sources[0] == fs::absolute(sub / "work" / "io_aware.cpp").string());
  CHECK(f.answers == lab.answers);
  REQUIRE(f.notes.size() == 2);
  CHECK(f.notes[0].find("2 files named io_aware.cpp; graded") == 0);
  CHECK(f.notes[1] == "not submitted: answers.txt (the skeleton's blank one is graded)");

  write(sub / "answers.txt", "x = 1");
  f = find_files(lab, sub.string());
  CHECK(f.answers == fs::absolute(sub / "answers.txt").string());

  // One file: the lab's only source under any name, or answers.txt alone.
  write(root / "bob.cpp", "int x;");
  f = find_files(lab, (root / "bob.cpp").string());
  CHECK(f.sources[0] == (root / "bob.cpp").string());
  CHECK(f.notes[0] == "graded bob.cpp as io_aware.cpp");
  f = find_files(lab, (sub / "answers.txt").string());
  CHECK_FALSE(f.any_source);
  CHECK(f.notes[0] == "not submitted: io_aware.cpp (the skeleton's is graded)");

  CHECK_THROWS_WITH_AS(find_files(lab, (root / "none").string()),
                       doctest::Contains("no file or folder"), Error);
  CHECK_THROWS_WITH_AS(
      find_files(lab, (sub / "io_aware.hpp").string()),
      doctest::Contains("is not one of lab 03's files (io_aware.cpp, answers.txt)"), Error);
  fs::remove_all(root);
}

TEST_CASE("the students of a batch are the subfolders, sorted, hidden ones skipped") {
  const fs::path root = fresh_dir("students");
  for (const char* s : {"zoe", "Bob", "alice", ".hidden", "__MACOSX"})
    fs::create_directories(root / s);
  write(root / "notes.txt", "not a student");
  CHECK(list_students(root.string()) == std::vector<std::string>{"Bob", "alice", "zoe"});
  fs::remove_all(root / "zoe");
  fs::remove_all(root / "Bob");
  fs::remove_all(root / "alice");
  CHECK_THROWS_WITH_AS(list_students(root.string()), doctest::Contains("has no subfolders"), Error);
  fs::remove_all(root);
}

TEST_CASE("CSV fields are quoted only when they must be") {
  CHECK(csv_field("alice") == "alice");
  CHECK(csv_field("does not compile: x.cpp:3: error: 'a' was not declared") ==
        "does not compile: x.cpp:3: error: 'a' was not declared");
  CHECK(csv_field("a, b") == "\"a, b\"");
  CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_field("two\nlines") == "\"two\nlines\"");
}

TEST_CASE("commands: exit codes, signals, and a time limit that kills what they started") {
  const fs::path root = fresh_dir("process");
  const std::string log = (root / "log.txt").string();
  CommandResult r = run_command("echo hello; exit 3", root.string(), log, 10);
  CHECK(r.status == CommandResult::Status::Exited);
  CHECK(r.code == 3);
  std::ifstream in(log);
  std::string line;
  std::getline(in, line);
  CHECK(line == "hello");

  r = run_command("exec sh -c 'kill -SEGV $$'", root.string(), log, 10);
  CHECK(r.status == CommandResult::Status::Signaled);
  CHECK(r.code == SIGSEGV);
  CHECK(describe(r, 10) == "killed by SIGSEGV (Segmentation fault)");

  // A command that starts a child and waits: both are gone after the limit.
  const std::string pid_file = (root / "child.pid").string();
  const auto start = std::chrono::steady_clock::now();
  r = run_command("sleep 60 & echo $! > " + shell_quote(pid_file) + "; wait", root.string(), log,
                  0.5);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(r.status == CommandResult::Status::TimedOut);
  CHECK(took < 10);
  CHECK(describe(r, 0.5) == "timed out after 0.5 s");
  pid_t child = 0;
  std::ifstream(pid_file) >> child;
  REQUIRE(child > 0);
  usleep(100000);
  CHECK_FALSE(alive(child));  // killed with its process group

  CHECK(shell_quote("it's") == "'it'\\''s'");
  fs::remove_all(root);
}
