// Running flashlab-viz (and the tools the GUI tests need) from the app suites: a command's exit
// code and output, and the skip (exit code 77) when a tool is missing.
#pragma once

#include <doctest/doctest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace flashlab::test {

inline const std::string kViz = FLASHLAB_VIZ_EXE;
inline const std::string kVizTestDir = FLASHLAB_VIZ_TEST_DIR;

struct Run {
  int code = -1;
  std::string output;  // stdout and stderr
};

inline Run run(const std::string& command) {
  Run r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buf{};
  size_t got = 0;
  while ((got = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), got);
  const int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Ends the test program as skipped (CTest's SKIP_RETURN_CODE 77) when `tool` is not on PATH.
inline void skip_unless_on_path(const std::string& tool, const std::string& package) {
  if (run("command -v " + tool).code == 0) return;
  std::printf("SKIP: %s is not on PATH (install %s: scripts/install-deps.sh)\n", tool.c_str(),
              package.c_str());
  std::exit(77);
}

}  // namespace flashlab::test
