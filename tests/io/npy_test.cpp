// .npy reading and writing: bit-exact round trips, files whose bytes the test spells out by hand
// (versions 1.0, 2.0, 3.0), and the committed corpus of malformed files (corpus/make_corpus.py).
#include <doctest/doctest.h>

#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <flashlab/core/error.hpp>
#include <flashlab/io/half.hpp>
#include <flashlab/io/npy.hpp>
#include <flashlab/test/random.hpp>

#include "hand_made_npy.hpp"

using namespace flashlab;
using namespace flashlab::io;
namespace fs = std::filesystem;

namespace {

// A fresh directory for one test's files, removed afterwards. Its name comes from
// std::random_device, not the test seed, so that runs in parallel (say the default and the asan
// build at once) never share it.
struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device entropy;
    path = fs::temp_directory_path() /
           ("flashlab_io_test_" + std::to_string(entropy()) + "_" + std::to_string(entropy()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

template <typename T>
std::vector<uint8_t> le_bytes(const std::vector<T>& values) {
  std::vector<uint8_t> out(values.size() * sizeof(T));
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// Random bit patterns, so NaNs with payloads, infinities, subnormals and -0 all occur, plus each
// special value once for certain.
template <typename T, typename Bits>
Tensor<T> random_bit_patterns(std::mt19937_64& rng, std::vector<int64_t> dims) {
  Tensor<T> t(std::move(dims));
  const T specials[] = {T(0),
                        -T(0),
                        std::numeric_limits<T>::infinity(),
                        -std::numeric_limits<T>::infinity(),
                        std::numeric_limits<T>::quiet_NaN(),
                        std::numeric_limits<T>::signaling_NaN(),
                        std::numeric_limits<T>::denorm_min(),
                        std::numeric_limits<T>::max()};
  for (auto& x : t.data) x = std::bit_cast<T>(Bits(rng()));
  for (size_t i = 0; i < std::size(specials) && i < t.data.size(); ++i) t.data[i] = specials[i];
  return t;
}

template <typename T>
void check_same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  REQUIRE(a.size() == b.size());
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

// Every 16-bit pattern once, as a 256 x 256 array of the given 2-byte dtype.
NpyArray all_16bit_patterns(const std::string& dtype) {
  std::vector<uint16_t> patterns(65536);
  for (size_t i = 0; i < patterns.size(); ++i) patterns[i] = uint16_t(i);
  return {dtype, {256, 256}, le_bytes(patterns), "all patterns"};
}

NpyReadOptions void2_as_bfloat16() {
  NpyReadOptions options;
  options.void2_is_bfloat16 = true;
  return options;
}

std::string error_of(const auto& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no flashlab::Error thrown)";
}

}  // namespace

TEST_CASE("float32 and float64 tensors round-trip through files bit-exactly, NaN payloads and -0") {
  FLASHLAB_TEST_RNG(rng, "npy f4 f8 round trip");
  TempDir dir;
  const auto f4 = random_bit_patterns<float, uint32_t>(rng, {3, 5, 7});
  const auto f8 = random_bit_patterns<double, uint64_t>(rng, {2, 1, 4, 9});
  write_npy(dir.file("f4.npy"), f4);
  write_npy(dir.file("f8.npy"), f8);
  const NpyArray f4_read = read_npy(dir.file("f4.npy"));
  CHECK(f4_read.dtype == "float32");
  CHECK(f4_read.shape == f4.dims);
  check_same_bits(read_tensor<float>(dir.file("f4.npy")).data, f4.data);
  const NpyArray f8_read = read_npy(dir.file("f8.npy"));
  CHECK(f8_read.dtype == "float64");
  CHECK(f8_read.shape == f8.dims);
  check_same_bits(read_tensor<double>(dir.file("f8.npy")).data, f8.data);
  // The explicit storages give the same files as the native ones.
  CHECK(serialize_npy(to_npy_array(f4, NpyStorage::kFloat32)) == file_bytes(dir.file("f4.npy")));
  CHECK(serialize_npy(to_npy_array(f8, NpyStorage::kFloat64)) == file_bytes(dir.file("f8.npy")));
}

TEST_CASE("every float16 pattern round-trips through Tensor<float>, Tensor<double> and a file") {
  TempDir dir;
  const NpyArray patterns = all_16bit_patterns("float16");
  write_npy(dir.file("via_float.npy"), to_tensor<float>(patterns), NpyStorage::kFloat16);
  write_npy(dir.file("via_double.npy"), to_tensor<double>(patterns), NpyStorage::kFloat16);
  for (const char* name : {"via_float.npy", "via_double.npy"}) {
    INFO(name);
    const NpyArray back = read_npy(dir.file(name));
    CHECK(back.dtype == "float16");
    CHECK(back.shape == patterns.shape);
    CHECK(back.bytes == patterns.bytes);
  }
}

TEST_CASE("a caller's accepted dtypes are the only ones messages offer, with its own hint") {
  TempDir dir;
  write_npy(dir.file("f4.npy"), Tensor<float>({2, 2}, 1.0f), NpyStorage::kFloat32);
  write_npy(dir.file("v2.npy"), Tensor<float>({2}, 1.0f), NpyStorage::kBfloat16Raw);
  NpyReadOptions ints;
  ints.accepted_dtypes = {"uint8", "int64"};
  const std::string refused = error_of([&] { read_npy(dir.file("f4.npy"), ints); });
  CHECK(refused.find("dtype '<f4' (float32) is not accepted here; accepted: '|u1' (uint8), "
                     "'<i8' (int64)") != std::string::npos);
  CHECK(refused.find("float16") == std::string::npos);
  // '<V2' where bfloat16 is not wanted is just an unsupported dtype, with no bfloat16 advice.
  const std::string raw = error_of([&] { read_npy(dir.file("v2.npy"), ints); });
  CHECK(raw.find("unsupported dtype '<V2' (void); accepted: '|u1' (uint8)") != std::string::npos);
  // Where it is wanted, the caller's hint says how to read it.
  NpyReadOptions floats;
  floats.accepted_dtypes = {"float32", "bfloat16"};
  floats.void2_hint = "pass --bf16";
  CHECK(error_of([&] {
          read_npy(dir.file("v2.npy"), floats);
        }).find("if they are bfloat16 as saved by ml_dtypes, pass --bf16") != std::string::npos);
  CHECK(read_npy(dir.file("f4.npy"), floats).dtype == "float32");
}

TEST_CASE("bfloat16 round-trips as raw '<V2' with the void2 option, and as exact float32") {
  TempDir dir;
  const NpyArray patterns = all_16bit_patterns("bfloat16");
  const Tensor<float> values = to_tensor<float>(patterns);
  write_npy(dir.file("raw.npy"), values, NpyStorage::kBfloat16Raw);
  CHECK(error_of([&] { read_npy(dir.file("raw.npy")); }).find("void2_is_bfloat16") !=
        std::string::npos);
  const NpyArray raw = read_npy(dir.file("raw.npy"), void2_as_bfloat16());
  CHECK(raw.dtype == "bfloat16");
  CHECK(raw.bytes == patterns.bytes);
  // The default bfloat16 storage is float32 holding bfloat16 values: the float whose top half is
  // the pattern and whose low 16 bits are zero.
  write_npy(dir.file("as_f4.npy"), values, NpyStorage::kBfloat16);
  const NpyArray as_f4 = read_npy(dir.file("as_f4.npy"));
  REQUIRE(as_f4.dtype == "float32");
  const Tensor<float> widened = to_tensor<float>(as_f4);
  for (size_t i = 0; i < widened.data.size(); ++i)
    if (std::bit_cast<uint32_t>(widened.data[i]) != uint32_t(i) << 16) {
      CHECK(std::bit_cast<uint32_t>(widened.data[i]) == uint32_t(i) << 16);
    }
}

TEST_CASE("kBfloat16 storage rounds float32 values to the nearest bfloat16") {
  FLASHLAB_TEST_RNG(rng, "npy bf16 rounding");
  const Tensor<float> t = test::random_tensor<float>(rng, {1000}, 10.0);
  const Tensor<float> rounded = to_tensor<float>(to_npy_array(t, NpyStorage::kBfloat16));
  for (size_t i = 0; i < t.data.size(); ++i) {
    const uint32_t bits = std::bit_cast<uint32_t>(rounded.data[i]);
    INFO("value " << t.data[i] << " stored as " << rounded.data[i]);
    CHECK((bits & 0xFFFF) == 0);
    // No other bfloat16 (one step up or down) is nearer to the original.
    const double error = std::abs(double(rounded.data[i]) - double(t.data[i]));
    for (const uint32_t neighbour : {bits + 0x10000, bits - 0x10000})
      CHECK(error <= std::abs(double(std::bit_cast<float>(neighbour)) - double(t.data[i])));
  }
}

TEST_CASE("the writer's header is version 1.0, space-padded to 64 bytes and ends in a newline") {
  struct Case {
    std::vector<int64_t> shape;
    std::string dict;
  };
  const Case cases[] = {
      {{2, 3}, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"},
      {{5}, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }"},
      {{}, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }"},
      {{1, 0, 4}, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 0, 4), }"},
  };
  for (const Case& c : cases) {
    INFO(c.dict);
    const std::vector<uint8_t> file = serialize_npy(to_npy_array(Tensor<float>(c.shape, 1.5f)));
    REQUIRE(file.size() >= 10);
    CHECK(std::string(file.begin(), file.begin() + 8) == std::string("\x93NUMPY\x01\x00", 8));
    const size_t header_length = file[8] | (size_t(file[9]) << 8);
    const size_t data_offset = 10 + header_length;
    CHECK(data_offset % 64 == 0);
    REQUIRE(file.size() >= data_offset);
    const std::string header(file.begin() + 10, file.begin() + std::ptrdiff_t(data_offset));
    CHECK(header.substr(0, c.dict.size()) == c.dict);
    CHECK(header.back() == '\n');
    CHECK(header.find_first_not_of(' ', c.dict.size()) == header.size() - 1);
    // The data: 1.5f = 0x3FC00000, little-endian.
    for (size_t i = data_offset; i < file.size(); i += 4)
      CHECK(std::vector<uint8_t>(file.begin() + std::ptrdiff_t(i),
                                 file.begin() + std::ptrdiff_t(i) + 4) ==
            std::vector<uint8_t>{0x00, 0x00, 0xC0, 0x3F});
  }
}

TEST_CASE("the reader parses hand-made headers of versions 1.0, 2.0 and 3.0") {
  const std::vector<uint8_t> one_to_six = le_bytes(std::vector<float>{1, 2, 3, 4, 5, 6});
  struct Case {
    int major;
    std::string header;
  };
  // NumPy's own spelling, and what a Python dict literal also allows: any key order, whitespace
  // and newlines between tokens, no trailing comma, double quotes, Python 2 longs, no padding.
  const Case same_array[] = {
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }      \n"},
      {2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n"},
      {3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n"},
      {1, "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}"},
      {1, " {\n  \"descr\" : \"<f4\",\n\t'fortran_order':False,'shape':( 2 ,3 , ) ,\n}\n"},
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }\n"},
  };
  for (const Case& c : same_array) {
    INFO("version " << c.major << ".0, header " << c.header);
    const NpyArray a = parse_npy(test::hand_made_npy(c.major, c.header, one_to_six), "hand-made");
    CHECK(a.dtype == "float32");
    CHECK(a.shape == std::vector<int64_t>{2, 3});
    CHECK(to_tensor<double>(a).data == std::vector<double>{1, 2, 3, 4, 5, 6});
  }

  SUBCASE("scalar and 1-d shapes") {
    const NpyArray scalar = parse_npy(
        test::hand_made_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }\n",
                            le_bytes(std::vector<double>{-0.25})),
        "scalar");
    CHECK(scalar.shape.empty());
    CHECK(to_tensor<double>(scalar).data == std::vector<double>{-0.25});
    const NpyArray vector = parse_npy(
        test::hand_made_npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }\n",
                            le_bytes(std::vector<int64_t>{7, -1, 1LL << 40})),
        "vector");
    CHECK(vector.shape == std::vector<int64_t>{3});
    CHECK(to_tensor<int64_t>(vector).data == std::vector<int64_t>{7, -1, 1LL << 40});
    const NpyArray empty = parse_npy(
        test::hand_made_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }\n", {}),
        "empty");
    CHECK(empty.shape == std::vector<int64_t>{0, 4});
    CHECK(to_tensor<float>(empty).data.empty());
  }

  SUBCASE("float16 and bfloat16 data decode to their IEEE values") {
    const std::vector<uint8_t> halves =
        le_bytes(std::vector<uint16_t>{0x3C00, 0x7BFF, 0x0001, 0xC000});
    const NpyArray f2 =
        parse_npy(test::hand_made_npy(
                      1, "{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }\n", halves),
                  "f2");
    CHECK(to_tensor<double>(f2).data ==
          std::vector<double>{1.0, 65504.0, std::ldexp(1.0, -24), -2.0});
    const std::vector<uint8_t> brains = le_bytes(std::vector<uint16_t>{0x3F80, 0xC040});
    for (const char* descr : {"'bfloat16'", "'<V2'", "'|V2'"}) {
      INFO(descr);
      const NpyArray bf = parse_npy(
          test::hand_made_npy(
              3, std::string("{'descr': ") + descr + ", 'fortran_order': False, 'shape': (2,)}",
              brains),
          "bf16", void2_as_bfloat16());
      CHECK(bf.dtype == "bfloat16");
      CHECK(to_tensor<float>(bf).data == std::vector<float>{1.0f, -3.0f});
    }
  }

  SUBCASE("integer and bool layouts read into uint8 and int64") {
    struct Layout {
      std::string descr;
      std::string dtype;
      std::vector<uint8_t> data;
    };
    const std::vector<uint8_t> bytes01 = {1, 0, 0, 1};
    const Layout layouts[] = {
        {"|u1", "uint8", bytes01},
        {"<u1", "uint8", bytes01},
        {"|b1", "bool", bytes01},
        {"<i4", "int32", le_bytes(std::vector<int32_t>{1, 0, 0, 1})},
        {"<i8", "int64", le_bytes(std::vector<int64_t>{1, 0, 0, 1})},
    };
    for (const Layout& l : layouts) {
      INFO(l.descr);
      const NpyArray a = parse_npy(
          test::hand_made_npy(
              1, "{'descr': '" + l.descr + "', 'fortran_order': False, 'shape': (2, 2), }", l.data),
          "layout.npy");
      CHECK(a.dtype == l.dtype);
      const Tensor<uint8_t> layout = to_tensor<uint8_t>(a);
      CHECK(layout.dims == std::vector<int64_t>{2, 2});
      CHECK(layout.data == bytes01);
      CHECK(to_tensor<int64_t>(a).data == std::vector<int64_t>{1, 0, 0, 1});
    }
  }
}

TEST_CASE("every file of the malformed corpus is refused with its name and the problem") {
  struct Expected {
    const char* file;
    const char* fragment;
  };
  const Expected corpus[] = {
      {"empty_file.npy", "truncated .npy file: 0 bytes"},
      {"truncated_in_magic.npy", "truncated .npy file: 4 bytes"},
      {"wrong_magic.npy", "not the magic string"},
      {"npz_archive_not_npy.npy", "looks like a .npz"},
      {"unsupported_version_4_0.npy", "unsupported .npy format version 4.0 (accepted: 1.0, 2.0"},
      {"unsupported_version_1_1.npy", "unsupported .npy format version 1.1"},
      {"truncated_header_length_field.npy", "ends inside the header length field"},
      {"truncated_header.npy", "header length field says 118 bytes, but only 20 bytes follow"},
      {"header_not_a_dict.npy", "not a Python dict"},
      {"header_missing_shape_key.npy", "missing key 'shape'"},
      {"header_missing_descr_key.npy", "missing key 'descr'"},
      {"header_unknown_key.npy", "unknown key 'dtype'"},
      {"header_duplicate_key.npy", "duplicate key 'shape'"},
      {"header_unterminated_string.npy", "unterminated string"},
      {"header_missing_colon.npy", "expected ':' after key 'descr'"},
      {"header_unclosed_dict.npy", "expected ',' or '}' after the value of 'shape'"},
      {"header_text_after_dict.npy", "unexpected text after the closing '}'"},
      {"header_non_ascii_byte.npy", "unsupported character in a string"},
      {"shape_not_a_tuple.npy", "'shape' must be a tuple"},
      {"shape_int_without_comma.npy", "'shape' (6) is an int, not a tuple"},
      {"shape_bad_tuple_missing_comma.npy", "expected ',' or ')' in 'shape'"},
      {"shape_negative_dim.npy", "negative dimension -3"},
      {"shape_dim_not_an_integer.npy", "expected a dimension"},
      {"shape_dim_too_large.npy", "does not fit in 64 bits"},
      {"shape_product_overflow.npy", "overflows 64 bits"},
      {"shape_too_many_dims.npy", "more than 64 dimensions"},
      {"fortran_order_not_bool.npy", "'fortran_order' must be True or False"},
      {"fortran_order_true.npy", "Fortran-order"},
      {"dtype_unsupported_complex64.npy",
       "unsupported dtype '<c8' (complex64); accepted: '<f2' (float16)"},
      {"dtype_unsupported_int16.npy", "unsupported dtype '<i2' (int16)"},
      {"dtype_big_endian_float32.npy", "dtype '>f4' is big-endian"},
      {"dtype_void2_without_bfloat16_option.npy", "void2_is_bfloat16 = true"},
      {"dtype_structured.npy", "structured"},
      {"data_truncated.npy",
       "truncated data: the header promises shape [2, 3] of float32, 24 "
       "bytes, but only 20 bytes follow"},
      {"data_trailing_bytes.npy", "4 bytes of extra data after the array"},
      {"data_missing_for_scalar.npy",
       "truncated data: the header promises shape [] of float64, 8 "
       "bytes, but only 0 bytes follow"},
  };
  for (const Expected& e : corpus) {
    const std::string path = std::string(FLASHLAB_IO_CORPUS_DIR) + "/" + e.file;
    INFO(path);
    REQUIRE(fs::exists(path));
    const std::string message = error_of([&] { read_npy(path); });
    INFO(message);
    CHECK(message.find(path) == 0);
    CHECK(message.find(e.fragment) != std::string::npos);
  }
}

TEST_CASE("missing files, directories and unwritable paths are reported by name") {
  TempDir dir;
  const std::string missing = dir.file("nope.npy");
  CHECK(error_of([&] { read_npy(missing); }) == missing + ": file not found");
  CHECK(error_of([&] { read_npy(dir.path.string()); }) ==
        dir.path.string() + ": not a regular file");
  const std::string unwritable = dir.file("no/such/dir/out.npy");
  CHECK(error_of([&] {
          write_npy(unwritable, Tensor<float>({2}, 1.0f));
        }).find(unwritable + ": cannot open for writing") == 0);
}

TEST_CASE("require_shape names the array, its shape and the expected shape") {
  const NpyArray q{"float32", {2, 3, 4}, std::vector<uint8_t>(96), "q.npy"};
  CHECK_NOTHROW(require_shape(q, {2, 3, 4}));
  CHECK(error_of([&] {
          require_shape(q, {1, 2, 3, 4});
        }) == "q.npy has shape [2, 3, 4], expected [1, 2, 3, 4]");
}

TEST_CASE("to_tensor refuses the other kind of dtype and layout values beyond uint8") {
  const NpyArray ints{"int64", {2}, le_bytes(std::vector<int64_t>{1, 256}), "layout.npy"};
  CHECK(error_of([&] { to_tensor<uint8_t>(ints); }) ==
        "layout.npy holds the value 256, which does not fit in uint8 (0..255)");
  CHECK(error_of([&] {
          to_tensor<float>(ints);
        }).find("layout.npy holds int64, expected a floating") == 0);
  const NpyArray floats{"float32", {1}, std::vector<uint8_t>(4), "q.npy"};
  CHECK(error_of([&] {
          to_tensor<int64_t>(floats);
        }).find("q.npy holds float32, expected an integer") == 0);
  const NpyArray inconsistent{"float32", {3}, std::vector<uint8_t>(8), "k.npy"};
  CHECK(error_of([&] { to_tensor<float>(inconsistent); }) ==
        "k.npy: shape [3] of float32 needs 12 bytes, the array holds 8 bytes");
}

TEST_CASE("the writer refuses a tensor whose data does not match its dims") {
  Tensor<double> t({2, 3});
  t.data.pop_back();
  CHECK_THROWS_AS(to_npy_array(t), Error);
  Tensor<float> negative;
  negative.dims = {-1};
  CHECK_THROWS_AS(to_npy_array(negative), Error);
  Tensor<float> huge;
  huge.dims = {int64_t{1} << 40, int64_t{1} << 40};
  CHECK_THROWS_AS(to_npy_array(huge), Error);
  const Tensor<float> too_many_dims(std::vector<int64_t>(65, 1));
  CHECK(error_of([&] {
          serialize_npy(to_npy_array(too_many_dims));
        }).find("65 dimensions, more than the 64") != std::string::npos);
  const NpyArray bad{"float16", {3}, std::vector<uint8_t>(4), ""};
  CHECK_THROWS_AS(serialize_npy(bad), Error);
  const NpyArray unknown{"complex64", {1}, std::vector<uint8_t>(8), ""};
  CHECK(error_of([&] { serialize_npy(unknown); }).find("unknown dtype 'complex64'") == 0);
}
