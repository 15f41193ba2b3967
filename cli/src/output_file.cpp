// Output files of sweep and trace: an early writability check and the write itself.
#include <flashlab/cli/output_file.hpp>

#include <cstdio>
#include <filesystem>
#include <flashlab/core/error.hpp>
#include <fstream>

namespace flashlab::cli {

void check_writable(const std::string& path) {
  if (path == "-") return;
  const bool existed = std::filesystem::exists(path);
  std::ofstream out(path, std::ios::app);
  require(bool(out), "cannot write '" + path + "' (missing directory or no permission)");
  out.close();
  if (!existed) std::filesystem::remove(path);
}

void write_output(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  require(bool(out), "cannot write '" + path + "'");
}

bool ends_with_svg(const std::string& path) {
  return path.size() > 4 && path.compare(path.size() - 4, 4, ".svg") == 0;
}

}  // namespace flashlab::cli
