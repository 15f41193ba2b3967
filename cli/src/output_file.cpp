// Output files of sweep and trace: an early writability check and the write itself.
#include <flashlab/cli/output_file.hpp>

#include <cstdio>
#include <filesystem>
#include <flashlab/core/error.hpp>
#include <fstream>
#include <iostream>

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

void write_output(const std::string& path, const std::function<void(std::ostream&)>& write) {
  if (path == "-") {
    std::fflush(stdout);
    write(std::cout);
    std::cout.flush();
    require(bool(std::cout), "cannot write to stdout");
    return;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  try {
    require(bool(out), "cannot write '" + path + "'");
    write(out);
    out.close();
    require(bool(out), "cannot write '" + path + "' (disk full?)");
  } catch (...) {
    out.close();
    std::error_code ec;
    std::filesystem::remove(path, ec);
    throw;
  }
}

bool ends_with_svg(const std::string& path) {
  return path.size() > 4 && path.compare(path.size() - 4, 4, ".svg") == 0;
}

}  // namespace flashlab::cli
