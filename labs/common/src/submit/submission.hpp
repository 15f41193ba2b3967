// One submission graded without touching the tree: its files found by name, copied into a
// scratch folder, compiled and linked with the build's own commands (recipe.hpp) against the
// prebuilt grader, and the grader run with the submission's answers under a time limit.
#pragma once

#include <string>
#include <vector>

#include "recipe.hpp"

namespace flashlab::labs::submit {

// What a student hands in for a lab: the sources of labs/NN-name/student/ (not the headers) and
// answers.txt; and the build's grader of the skeleton that a submission's grader is made like.
struct Lab {
  std::string id;                    // "03"
  std::vector<std::string> sources;  // absolute paths of the skeleton's sources
  std::string answers;               // the skeleton's (blank) answers.txt
  std::string skeleton_grader;       // grade_NN_student, built
  std::string build_dir;             // where the recipe's commands run
  Recipe recipe;
  std::vector<std::string> test_names;  // the grader's tests, in its order
  std::vector<int> test_points;
  int max_score = 0;
};

// Lists the lab's student files and reads the grader's recipe and tests (runs the skeleton's
// grader with --list). Throws flashlab::Error naming what is missing.
Lab load_lab(const std::string& lab_source_dir, const std::string& id, const std::string& ninja,
             const std::string& build_dir);

// The files found in a submission (a folder, searched at any depth, or one file), each the
// submitted one or the skeleton's, with a note for each choice a grader should know about.
struct Files {
  std::vector<std::string> sources;  // in Lab::sources order
  std::string answers;
  std::vector<std::string> notes;  // "not submitted: answers.txt (the skeleton's is graded)"
  bool any_source = false;         // at least one source came from the submission
};
Files find_files(const Lab& lab, const std::string& submission);

// The grading of one submission.
struct Result {
  std::string student;
  // NotGraded: grading itself failed (a full disk, ...); the submission may be fine.
  enum class Status { Graded, DoesNotCompile, DoesNotLink, Crashed, TimedOut, NotGraded };
  Status status = Status::Graded;
  double score = 0;
  int max_score = 0;
  std::vector<double> test_scores;  // Lab::test_names order (empty unless graded)
  std::string reason;               // one line: why 0, or what was graded in place of a file
  std::string report;               // the per-student report file
  std::string gradescope;           // the results.json written for it
  double build_seconds = 0, grade_seconds = 0;
};
const char* to_string(Result::Status s);

struct Limits {
  double compile_s = 300;  // each compile and the link
  double grader_s = 600;   // the whole grader run
  int test_timeout_s = 0;  // > 0: passed to the grader as --timeout (per test)
};

// Grades `submission` in `work_dir` (created; its build products stay there). The report and the
// Gradescope results.json are written to `report_path` and `gradescope_path`. A submission that
// does not compile, crashes or hangs gets 0 and the reason; nothing here throws for it.
Result grade(const Lab& lab, const std::string& student, const std::string& submission,
             const std::string& work_dir, const std::string& report_path,
             const std::string& gradescope_path, const Limits& limits);

// Gradescope's results.json for a submission that could not be graded: 0 points on every test,
// and `output` (why, and the compiler's messages) as the text the student sees.
void write_zero_results(const Lab& lab, const std::string& path, const std::string& output);

// Builds the submission's grader in `work_dir`; "" on success, else why not (the compiler's
// output is in `log_path`). `exe` receives the grader's path.
std::string build(const Lab& lab, const Files& files, const std::string& work_dir,
                  const std::string& log_path, double compile_s, std::string& exe, double& seconds);

}  // namespace flashlab::labs::submit
