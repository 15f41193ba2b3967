// The tests' own .npy writer and reader (format 1.0, little-endian, C order).
#include "npy_test_files.hpp"

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace flashlab::test {
namespace {

size_t itemsize(const std::string& descr) {
  if (descr == "<f2") return 2;
  if (descr == "<f4") return 4;
  if (descr == "<f8") return 8;
  if (descr == "|u1") return 1;
  throw std::runtime_error("test npy: unsupported descr " + descr);
}

template <typename T>
std::vector<uint8_t> raw(const std::vector<T>& values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

}  // namespace

std::vector<uint8_t> npy_bytes(const NpyFile& f) {
  std::string shape = "(";
  for (size_t i = 0; i < f.shape.size(); ++i)
    shape +=
        std::to_string(f.shape[i]) + (f.shape.size() == 1 || i + 1 < f.shape.size() ? "," : "");
  shape += ")";
  std::string header =
      "{'descr': '" + f.descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  out.push_back(uint8_t(header.size() & 0xff));
  out.push_back(uint8_t(header.size() >> 8));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), f.data.begin(), f.data.end());
  return out;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

void write_npy_file(const std::string& path, const NpyFile& file) {
  write_bytes(path, npy_bytes(file));
}

NpyFile read_npy_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> b((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
  if (b.size() < 10 || b[0] != 0x93 || b[6] != 1) throw std::runtime_error("not a v1 npy: " + path);
  const size_t header_len = size_t(b[8]) | (size_t(b[9]) << 8);
  const std::string header(b.begin() + 10, b.begin() + 10 + long(header_len));
  NpyFile f;
  const size_t d = header.find("'descr': '") + 10;
  f.descr = header.substr(d, header.find('\'', d) - d);
  if (header.find("'fortran_order': False") == std::string::npos)
    throw std::runtime_error("fortran order in " + path);
  const size_t s = header.find('(', header.find("'shape'")) + 1;
  const std::string dims = header.substr(s, header.find(')', s) - s);
  size_t pos = 0;
  while (pos < dims.size()) {
    size_t next = dims.find(',', pos);
    if (next == std::string::npos) next = dims.size();
    const std::string part = dims.substr(pos, next - pos);
    if (part.find_first_not_of(' ') != std::string::npos) f.shape.push_back(std::stoll(part));
    pos = next + 1;
  }
  f.data.assign(b.begin() + 10 + long(header_len), b.end());
  if (f.data.size() != npy_count(f) * itemsize(f.descr))
    throw std::runtime_error("data size mismatch in " + path);
  return f;
}

size_t npy_count(const NpyFile& f) {
  size_t n = 1;
  for (int64_t d : f.shape) n *= size_t(d);
  return n;
}

double half_to_double(uint16_t bits) {
  const int sign = bits >> 15, exponent = (bits >> 10) & 0x1f, mantissa = bits & 0x3ff;
  double v;
  if (exponent == 0) {
    v = std::ldexp(double(mantissa), -24);
  } else if (exponent == 31) {
    v = mantissa ? NAN : INFINITY;
  } else {
    v = std::ldexp(double(mantissa + 1024), exponent - 25);
  }
  return sign ? -v : v;
}

double npy_element(const NpyFile& f, size_t i) {
  if (f.descr == "<f2") {
    uint16_t h;
    std::memcpy(&h, f.data.data() + 2 * i, 2);
    return half_to_double(h);
  }
  if (f.descr == "<f4") {
    float x;
    std::memcpy(&x, f.data.data() + 4 * i, 4);
    return x;
  }
  if (f.descr == "<f8") {
    double x;
    std::memcpy(&x, f.data.data() + 8 * i, 8);
    return x;
  }
  if (f.descr == "|u1") return f.data[i];
  throw std::runtime_error("test npy: unsupported descr " + f.descr);
}

NpyFile float32_npy(const std::vector<int64_t>& shape, const std::vector<float>& values) {
  return {"<f4", shape, raw(values)};
}
NpyFile float64_npy(const std::vector<int64_t>& shape, const std::vector<double>& values) {
  return {"<f8", shape, raw(values)};
}
NpyFile float16_npy(const std::vector<int64_t>& shape, const std::vector<uint16_t>& bits) {
  return {"<f2", shape, raw(bits)};
}

}  // namespace flashlab::test
