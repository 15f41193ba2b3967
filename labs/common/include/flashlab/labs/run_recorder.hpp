// What `flashlab-grade LAB --trace FILE` runs: a lab's recorder, which runs the student's code on
// the small case the handout names and writes what it did to FILE for flashlab-viz (labs 1, 3
// and 6; docs/labs.md, "Watching your run"). The runner calls it in a child process, so a crash
// or an endless loop in the student's code is reported instead of taking the grader down.
#pragma once

#include <string>

namespace flashlab::labs {

struct RecordedRun {
  std::string report;    // what was written and how to open it, one line each
  bool finished = true;  // false: the student's code stopped early (the file shows how far)
};

// Writes the run to `path`; throws std::exception (flashlab::Error) when it cannot.
using RunRecorder = RecordedRun (*)(const std::string& path);

// Registers the lab's recorder; use a namespace-scope `const bool x = register_run_recorder(&f);`.
bool register_run_recorder(RunRecorder recorder);

}  // namespace flashlab::labs
