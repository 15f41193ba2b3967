// Reading and writing whole .npy files: file I/O around the header parser of npy_format.cpp, and
// the checks that tie the data bytes to the header (neither too few nor too many).
#include <flashlab/io/npy.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "npy_format.hpp"

namespace flashlab::io {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

// The whole file, whose size bounds every allocation the parser makes.
std::vector<uint8_t> read_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  require(status.type() != fs::file_type::none, path + ": cannot access: " + ec.message());
  require(fs::exists(status), path + ": file not found");
  require(fs::is_regular_file(status), path + ": not a regular file");
  const std::uintmax_t size = fs::file_size(path, ec);
  require(!ec, path + ": cannot get the file size: " + ec.message());
  File file(std::fopen(path.c_str(), "rb"));
  require(file != nullptr, path + ": cannot open for reading: " + std::strerror(errno));
  std::vector<uint8_t> bytes(size);
  require(std::fread(bytes.data(), 1, bytes.size(), file.get()) == bytes.size(),
          path + ": read error after " + std::to_string(std::ftell(file.get())) + " of " +
              std::to_string(size) + " bytes");
  return bytes;
}

void write_all(const std::string& path, const std::string& header,
               const std::vector<uint8_t>& data) {
  File file(std::fopen(path.c_str(), "wb"));
  require(file != nullptr, path + ": cannot open for writing: " + std::strerror(errno));
  const bool written = std::fwrite(header.data(), 1, header.size(), file.get()) == header.size() &&
                       std::fwrite(data.data(), 1, data.size(), file.get()) == data.size();
  // fclose flushes: a full disk may only show up here.
  const bool closed = std::fclose(file.release()) == 0;
  require(written && closed, path + ": write error: " + std::strerror(errno));
}

}  // namespace

NpyArray parse_npy(std::vector<uint8_t> file, const std::string& source,
                   const NpyReadOptions& options) {
  const detail::NpyHeader header = detail::parse_npy_header(file, source, options);
  const auto follow = int64_t(file.size() - header.data_offset);
  const std::string promised = "the header promises shape " + dims_to_string(header.shape) +
                               " of " + header.dtype + ", " + detail::byte_count(header.data_bytes);
  require(follow >= header.data_bytes, source + ": truncated data: " + promised + ", but only " +
                                           detail::byte_count(follow) + " follow the header");
  require(follow == header.data_bytes,
          source + ": " + detail::byte_count(follow - header.data_bytes) +
              " of extra data after the array: " + promised + ", but " +
              detail::byte_count(follow) +
              " follow the header (trailing data is refused: the header would not describe the "
              "file)");
  // Drop the header in place rather than copy the data: a file's worth of memory, not two.
  file.erase(file.begin(), file.begin() + std::ptrdiff_t(header.data_offset));
  return {header.dtype, header.shape, std::move(file), source};
}

NpyArray read_npy(const std::string& path, const NpyReadOptions& options) {
  return parse_npy(read_file(path), path, options);
}

std::vector<uint8_t> serialize_npy(const NpyArray& array) {
  detail::require_consistent(array, array.source.empty() ? "array to serialize" : array.source);
  const std::string header = detail::format_npy_header(array.dtype, array.shape);
  std::vector<uint8_t> out(header.begin(), header.end());
  out.insert(out.end(), array.bytes.begin(), array.bytes.end());
  return out;
}

void write_npy(const std::string& path, const NpyArray& array) {
  detail::require_consistent(array, path);
  write_all(path, detail::format_npy_header(array.dtype, array.shape), array.bytes);
}

void write_npy(const std::string& path, const Tensor<float>& tensor, NpyStorage storage) {
  write_npy(path, to_npy_array(tensor, storage));
}

void write_npy(const std::string& path, const Tensor<double>& tensor, NpyStorage storage) {
  write_npy(path, to_npy_array(tensor, storage));
}

void require_shape(const NpyArray& array, const std::vector<int64_t>& expected) {
  require(array.shape == expected, array.source + " has shape " + dims_to_string(array.shape) +
                                       ", expected " + dims_to_string(expected));
}

}  // namespace flashlab::io
