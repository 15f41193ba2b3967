// Runs the built `flashlab` binary (path from CMake) with arguments and captures its exit code,
// stdout and stderr, and gives each test a fresh temporary directory.
#pragma once

#include <string>

namespace flashlab::test {

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `flashlab <args>` through the shell (args are shell words; quote paths with spaces).
// `env` is prefixed to the command, e.g. "NO_COLOR=1".
CliResult run_flashlab(const std::string& args, const std::string& env = "");

// A new empty directory under the system temp dir, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path(const std::string& name = "") const;

 private:
  std::string dir_;
};

std::string read_file(const std::string& path);

// The number of lines of `text` that contain `needle`.
int count_lines_with(const std::string& text, const std::string& needle);

}  // namespace flashlab::test
