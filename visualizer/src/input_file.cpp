// Checks on a file an option names, before it is read (input_file.hpp).
#include <flashlab/viz/input_file.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <flashlab/core/error.hpp>

namespace flashlab::viz {

void check_input_file(const std::string& path, const std::string& what, const std::string& give,
                      uint64_t max_bytes, const std::string& limit) {
  const std::string head = what + ": ";
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  require(std::filesystem::exists(status), head + "no such file");
  require(!std::filesystem::is_directory(status), head + "is a directory; give " + give);
  const auto bytes = std::filesystem::file_size(path, ec);
  require(ec || bytes <= max_bytes, head + std::to_string(bytes) + " bytes; " + limit);
  std::ifstream in(path, std::ios::binary);
  require(bool(in), head + "cannot open it: " + std::strerror(errno));
}

}  // namespace flashlab::viz
