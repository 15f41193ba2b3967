// Which lab and implementation a grader binary was built for: defined in a small file that
// labs/cmake/FlashlabLabs.cmake generates for each grader executable.
#pragma once

namespace flashlab::labs {

struct LabInfo {
  const char* id;            // "03"
  const char* title;         // "IO-aware on the simulator"
  const char* impl;          // "student", "solution" or a mistake's name
  const char* answers_path;  // the answers file of the handout's questions
};
const LabInfo& lab_info();

}  // namespace flashlab::labs
