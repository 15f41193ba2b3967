// Grading a folder of submissions (one subfolder each) in parallel: every submission is built
// and graded on its own (submission.hpp), and one that does not compile, crashes or hangs gets 0
// with the reason without stopping the others. Writes grades.csv, one report and one Gradescope
// results.json per student.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "submission.hpp"

namespace flashlab::labs::submit {

struct BatchOptions {
  std::string dir;    // one subfolder per student
  std::string out;    // grades.csv, reports/, results/ (and work/ while grading)
  int jobs = 1;       // submissions graded at once
  bool keep = false;  // keep each submission's build folder under out/work
  Limits limits;
};

// The students: the subfolders of `dir`, sorted by name (hidden ones skipped).
std::vector<std::string> list_students(const std::string& dir);

// Grades every student of options.dir; progress lines go to `progress`.
std::vector<Result> grade_all(const Lab& lab, const BatchOptions& options, std::ostream& progress);

// The CSV: student, score, max_score, status, reason, then one column per test.
void write_csv(const Lab& lab, const std::vector<Result>& results, const std::string& path);

// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
std::string csv_field(const std::string& text);

}  // namespace flashlab::labs::submit
