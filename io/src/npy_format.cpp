// The .npy preamble and header dict (NumPy's format spec, "NEP 1"): parsed strictly, since the
// header is a Python literal and anything beyond the three keys NumPy writes means we would
// misread the data.
#include "npy_format.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cctype>
#include <climits>
#include <cstring>
#include <optional>
#include <string_view>

#include <flashlab/core/error.hpp>

namespace flashlab::io {
namespace {

struct DtypeInfo {
  const char* name;
  const char* descr;  // what the writer writes
  int64_t itemsize;
};

constexpr std::array<DtypeInfo, 8> kDtypes{{{"float16", "<f2", 2},
                                            {"bfloat16", "<V2", 2},
                                            {"float32", "<f4", 4},
                                            {"float64", "<f8", 8},
                                            {"uint8", "|u1", 1},
                                            {"bool", "|b1", 1},
                                            {"int32", "<i4", 4},
                                            {"int64", "<i8", 8}}};

constexpr std::string_view kMagic{"\x93NUMPY", 6};
constexpr size_t kMaxDims = 64;  // NumPy 2 allows 64 (NumPy 1: 32)
constexpr size_t kAlignment = 64;

const DtypeInfo* find_dtype(std::string_view name) {
  for (const DtypeInfo& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

// Non-printable bytes as \xNN, so a message about a binary file stays one readable line.
std::string printable(std::string_view text, size_t max_chars = 160) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < text.size() && i < max_chars; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out += char(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (text.size() > max_chars) out += "...";
  return out;
}

// The dtypes `options` takes, as the descrs a file may hold: "'<f2' (float16), ...".
std::string accepted_descrs(const NpyReadOptions& options) {
  std::string out = "accepted: ";
  bool first = true;
  for (const DtypeInfo& d : kDtypes) {
    const auto& only = options.accepted_dtypes;
    if (!only.empty() && std::find(only.begin(), only.end(), d.name) == only.end()) continue;
    out += first ? "" : ", ";
    first = false;
    out += std::string_view(d.name) == "bfloat16"
               ? std::string("'bfloat16' or '<V2' (bfloat16") +
                     (options.void2_is_bfloat16 ? ")" : ", " + options.void2_hint + ")")
               : "'" + std::string(d.descr) + "' (" + d.name + ")";
  }
  return out;
}

// NumPy's name of a descr this reader does not decode, for the message: '<c8' -> "complex64".
std::string numpy_name(std::string_view descr) {
  if (!descr.empty() && std::string_view("<>|=!").find(descr[0]) != std::string_view::npos)
    descr.remove_prefix(1);
  if (descr.empty()) return "";
  const std::string_view kind = descr.substr(0, 1), size = descr.substr(1);
  struct Kind {
    const char* code;
    const char* name;
    int bits_per_size_unit;  // the number after the code counts bytes: name + (bytes * this)
  };
  constexpr Kind kKinds[] = {{"b", "bool", 0},        {"i", "int", 8},     {"u", "uint", 8},
                             {"f", "float", 8},       {"c", "complex", 8}, {"U", "str", 0},
                             {"S", "bytes", 0},       {"O", "object", 0},  {"M", "datetime64", 0},
                             {"m", "timedelta64", 0}, {"V", "void", 0}};
  for (const Kind& k : kKinds) {
    if (kind != k.code) continue;
    int bytes = 0;
    for (const char c : size) {
      if (c < '0' || c > '9' || bytes > 1000) return k.name;
      bytes = bytes * 10 + (c - '0');
    }
    return k.bits_per_size_unit > 0 && bytes > 0
               ? std::string(k.name) + std::to_string(bytes * k.bits_per_size_unit)
               : std::string(k.name);
  }
  return "";
}

// A recursive-descent parser for the one Python literal a .npy header holds.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& source, const NpyReadOptions& options)
      : text_(text), source_(source), options_(options) {}

  detail::NpyHeader parse() {
    skip_space();
    if (peek() != '{') fail("the header is not a Python dict (it must start with '{')");
    ++pos_;
    std::optional<std::string> descr;
    std::optional<bool> fortran_order;
    std::optional<std::vector<int64_t>> shape;
    skip_space();
    while (peek() != '}') {
      const size_t key_pos = pos_;
      const std::string key = parse_string("a quoted key or '}'");
      skip_space();
      expect(':', "after key '" + key + "'");
      skip_space();
      if (key == "descr" && !descr) {
        descr = parse_descr();
      } else if (key == "fortran_order" && !fortran_order) {
        fortran_order = parse_bool(key);
      } else if (key == "shape" && !shape) {
        shape = parse_shape();
      } else {
        pos_ = key_pos;
        fail(key == "descr" || key == "fortran_order" || key == "shape"
                 ? "duplicate key '" + key + "'"
                 : "unknown key '" + printable(key) +
                       "' (a .npy header has exactly 'descr', 'fortran_order' and 'shape')");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        skip_space();
      } else if (peek() != '}') {
        fail("expected ',' or '}' after the value of '" + key + "'");
      }
    }
    ++pos_;
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the closing '}'");
    if (!descr) fail_missing("descr");
    if (!fortran_order) fail_missing("fortran_order");
    if (!shape) fail_missing("shape");
    if (*fortran_order)
      throw Error(source_ +
                  ": Fortran-order (column-major) data is not supported; save a C-order array "
                  "(np.ascontiguousarray)");
    return {dtype_from_descr(*descr), std::move(*shape), 0, 0};
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw Error(source_ + ": malformed .npy header: " + problem + " at character " +
                std::to_string(pos_) + " of header \"" + printable(text_) + "\"");
  }
  [[noreturn]] void fail_missing(const std::string& key) const {
    throw Error(source_ + ": malformed .npy header: missing key '" + key +
                "' (a .npy header has exactly 'descr', 'fortran_order' and 'shape') in header \"" +
                printable(text_) + "\"");
  }

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool at_end() const { return pos_ >= text_.size(); }

  // What is at the cursor, for "expected X, found Y".
  std::string found() const {
    return at_end() ? "the end of the header" : "'" + printable(text_.substr(pos_, 1)) + "'";
  }

  void expect(char c, const std::string& where) {
    if (peek() != c || at_end()) fail(std::string("expected '") + c + "' " + where);
    ++pos_;
  }

  // Python's whitespace between tokens (a dict literal may span lines).
  void skip_space() {
    while (!at_end() && std::strchr(" \t\n\r\f\v", text_[pos_]) != nullptr) ++pos_;
  }

  std::string parse_string(const std::string& what) {
    const char quote = peek();
    if (at_end() || (quote != '\'' && quote != '"'))
      fail("expected " + what + ", found " + found());
    const size_t start = ++pos_;
    // A Python string literal cannot span lines, so a newline also leaves it unterminated.
    while (!at_end() && text_[pos_] != quote && text_[pos_] != '\n') {
      const auto c = static_cast<unsigned char>(text_[pos_]);
      // Escapes and raw bytes never occur in a header NumPy writes; refusing them keeps this a
      // plain literal without Python's escape rules.
      if (c < 0x20 || c >= 0x7F || c == '\\') fail("unsupported character in a string");
      ++pos_;
    }
    if (peek() != quote) {
      pos_ = start - 1;
      fail("unterminated string");
    }
    return std::string(text_.substr(start, pos_++ - start));
  }

  std::string parse_descr() {
    if (peek() == '[')
      fail("'descr' is a list: structured (record) dtypes are not supported; " +
           accepted_descrs(options_));
    return parse_string("a dtype string as the value of 'descr'");
  }

  bool parse_bool(const std::string& key) {
    for (const std::string_view word : {std::string_view("True"), std::string_view("False")}) {
      if (text_.substr(pos_, word.size()) == word) {
        const size_t end = pos_ + word.size();
        const char next = end < text_.size() ? text_[end] : ' ';
        if (std::isalnum(static_cast<unsigned char>(next)) || next == '_') break;
        pos_ = end;
        return word == "True";
      }
    }
    fail("'" + key + "' must be True or False, found " + found());
  }

  // A tuple of non-negative ints: "()", "(5,)", "(2, 3)", "(2, 3,)". Python 2 NumPy wrote longs
  // with an 'L' suffix ("(3L, 4L)"); NumPy still reads those, so we do too.
  std::vector<int64_t> parse_shape() {
    if (peek() != '(') fail("'shape' must be a tuple such as (2, 3), (5,) or (), found " + found());
    ++pos_;
    std::vector<int64_t> dims;
    bool trailing_comma = false;
    skip_space();
    while (peek() != ')') {
      if (dims.size() == kMaxDims)
        fail("'shape' has more than " + std::to_string(kMaxDims) + " dimensions");
      dims.push_back(parse_dim());
      skip_space();
      trailing_comma = peek() == ',';
      if (trailing_comma) {
        ++pos_;
        skip_space();
      } else if (peek() != ')') {
        fail("expected ',' or ')' in 'shape', found " + found());
      }
    }
    if (dims.size() == 1 && !trailing_comma)
      fail("'shape' (" + std::to_string(dims[0]) + ") is an int, not a tuple: write (" +
           std::to_string(dims[0]) + ",)");
    ++pos_;
    return dims;
  }

  int64_t parse_dim() {
    const size_t start = pos_;
    if (peek() == '-') {
      ++pos_;
      while (std::isdigit(static_cast<unsigned char>(peek()))) ++pos_;
      const std::string number(text_.substr(start, pos_ - start));
      pos_ = start;
      fail("negative dimension " + number + " in 'shape'");
    }
    if (!std::isdigit(static_cast<unsigned char>(peek())))
      fail("expected a dimension (a non-negative integer) in 'shape', found " + found());
    int64_t value = 0;
    while (std::isdigit(static_cast<unsigned char>(peek()))) {
      const int digit = text_[pos_++] - '0';
      if (value > (INT64_MAX - digit) / 10) {
        pos_ = start;
        fail("dimension in 'shape' does not fit in 64 bits");
      }
      value = value * 10 + digit;
    }
    if (peek() == 'L') ++pos_;
    return value;
  }

  std::string dtype_from_descr(const std::string& descr) const {
    const std::string name = known_dtype(descr);
    const auto& only = options_.accepted_dtypes;
    if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end())
      throw Error(source_ + ": dtype '" + printable(descr) + "' (" + name +
                  ") is not accepted here; " + accepted_descrs(options_));
    return name;
  }

  // The dtype name of a descr this reader decodes; throws for any other.
  std::string known_dtype(const std::string& descr) const {
    const std::string quoted = "'" + printable(descr) + "'";
    if (descr == "bfloat16") return "bfloat16";
    const auto& only = options_.accepted_dtypes;
    const bool bfloat16_wanted =
        only.empty() || std::find(only.begin(), only.end(), "bfloat16") != only.end();
    if (descr == "<V2" || descr == "|V2") {
      if (options_.void2_is_bfloat16) return "bfloat16";
      if (bfloat16_wanted)
        throw Error(source_ + ": dtype " + quoted +
                    " is 2 raw bytes (void); if they are bfloat16 as saved by ml_dtypes, " +
                    options_.void2_hint);
    }
    for (const DtypeInfo& d : kDtypes) {
      const std::string_view written = d.descr;
      // One-byte types have no byte order: NumPy writes '|', but '<' means the same.
      const bool one_byte_alias = d.itemsize == 1 && descr.size() == 3 && descr[0] == '<' &&
                                  descr.substr(1) == written.substr(1);
      if (written != "<V2" && (descr == written || one_byte_alias)) return d.name;
    }
    if (!descr.empty() && (descr[0] == '>' || descr[0] == '!'))
      throw Error(source_ + ": dtype " + quoted +
                  " is big-endian, which is not supported; save little-endian data "
                  "(arr.astype(arr.dtype.newbyteorder('<')))");
    const std::string numpy = numpy_name(descr);
    throw Error(source_ + ": unsupported dtype " + quoted +
                (numpy.empty() ? "" : " (" + numpy + ")") + "; " + accepted_descrs(options_));
  }

  std::string_view text_;
  const std::string& source_;
  const NpyReadOptions& options_;
  size_t pos_ = 0;
};

uint32_t read_le(std::span<const uint8_t> bytes) {
  uint32_t value = 0;
  for (size_t i = bytes.size(); i-- > 0;) value = (value << 8) | bytes[i];
  return value;
}

}  // namespace

int64_t npy_itemsize(const std::string& dtype) {
  const DtypeInfo* info = find_dtype(dtype);
  if (info == nullptr) {
    std::string names;
    for (const DtypeInfo& d : kDtypes) names += (names.empty() ? "" : ", ") + std::string(d.name);
    throw Error("unknown dtype '" + printable(dtype) + "'; known: " + names);
  }
  return info->itemsize;
}

namespace detail {

int64_t checked_byte_count(const std::vector<int64_t>& shape, int64_t itemsize) {
  int64_t nonzero_product = itemsize;
  bool empty = false;
  for (const int64_t dim : shape) {
    if (dim < 0) return -1;
    if (dim == 0) {
      empty = true;
    } else if (nonzero_product > INT64_MAX / dim) {
      return -1;
    } else {
      nonzero_product *= dim;
    }
  }
  return empty ? 0 : nonzero_product;
}

std::string byte_count(int64_t n) {
  return std::to_string(n) + (n == 1 ? " byte" : " bytes");
}

void require_consistent(const NpyArray& array, const std::string& name) {
  require(array.shape.size() <= kMaxDims, name + ": " + std::to_string(array.shape.size()) +
                                              " dimensions, more than the " +
                                              std::to_string(kMaxDims) + " a .npy file may have");
  const int64_t expected = checked_byte_count(array.shape, npy_itemsize(array.dtype));
  require(expected >= 0, name + ": invalid shape " + dims_to_string(array.shape) +
                             " (a negative dimension, or too many elements)");
  require(int64_t(array.bytes.size()) == expected, name + ": shape " + dims_to_string(array.shape) +
                                                       " of " + array.dtype + " needs " +
                                                       byte_count(expected) + ", the array holds " +
                                                       byte_count(int64_t(array.bytes.size())));
}

NpyHeader parse_npy_header(std::span<const uint8_t> file, const std::string& source,
                           const NpyReadOptions& options) {
  const std::string_view start(reinterpret_cast<const char*>(file.data()),
                               std::min(file.size(), kMagic.size()));
  if (start != kMagic.substr(0, start.size())) {
    const std::string hint =
        start.substr(0, 2) == "PK" ? " (it looks like a .npz zip archive)" : "";
    throw Error(source + ": not a .npy file: it starts with \"" + printable(start) +
                "\", not the magic string \"\\x93NUMPY\"" + hint);
  }
  if (file.size() < 8)
    throw Error(source + ": truncated .npy file: " + byte_count(int64_t(file.size())) +
                ", fewer than the 8 of the magic string and version");
  const int major = file[6];
  const int minor = file[7];
  if (minor != 0 || major < 1 || major > 3)
    throw Error(source + ": unsupported .npy format version " + std::to_string(major) + "." +
                std::to_string(minor) + " (accepted: 1.0, 2.0, 3.0)");
  // Version 1.0 stores the header length in 2 bytes; 2.0 and 3.0 in 4. 3.0 only adds UTF-8 in
  // the header, which only the field names of structured dtypes use: those are refused anyway,
  // so one ASCII parser serves all three versions.
  const size_t length_bytes = major == 1 ? 2 : 4;
  const size_t preamble = 8 + length_bytes;
  if (file.size() < preamble)
    throw Error(source + ": truncated .npy header: the file ends inside the header length field");
  const size_t header_length = read_le(file.subspan(8, length_bytes));
  if (header_length > file.size() - preamble)
    throw Error(source + ": truncated .npy header: the header length field says " +
                std::to_string(header_length) + " bytes, but only " +
                std::to_string(file.size() - preamble) + " bytes follow it");
  const std::string_view text(reinterpret_cast<const char*>(file.data()) + preamble, header_length);
  NpyHeader header = HeaderParser(text, source, options).parse();
  header.data_offset = preamble + header_length;
  header.data_bytes = checked_byte_count(header.shape, npy_itemsize(header.dtype));
  if (header.data_bytes < 0)
    throw Error(source + ": shape " + dims_to_string(header.shape) + " of " + header.dtype +
                " has too many elements: its size in bytes overflows 64 bits");
  return header;
}

std::string format_npy_header(const std::string& dtype, const std::vector<int64_t>& shape) {
  const DtypeInfo* info = find_dtype(dtype);
  assert(info != nullptr);
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dims += ",";
  const std::string dict = std::string("{'descr': '") + info->descr +
                           "', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Pad with spaces so that the data starts at a multiple of 64 bytes; the header ends in '\n'.
  // With at most kMaxDims dims the header fits version 1.0's 2-byte length.
  constexpr size_t kPreamble = 10;
  const size_t header_length =
      (kPreamble + dict.size() + 1 + kAlignment - 1) / kAlignment * kAlignment - kPreamble;
  assert(header_length <= 0xFFFF);
  std::string out(kMagic);
  out += {'\x01', '\x00', char(header_length & 0xFF), char(header_length >> 8)};
  out += dict;
  out.append(header_length - dict.size() - 1, ' ');
  out += '\n';
  return out;
}

}  // namespace detail
}  // namespace flashlab::io
