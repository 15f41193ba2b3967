// compare on .npy inputs: bit-exact round trips through --q/--save, 2-D/3-D arrays, an O checked
// against a plain loop, and every malformed, mismatched or non-finite file refused with exit 2.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "npy_test_files.hpp"

using namespace flashlab::test;

namespace {

// Finite float16 patterns with magnitudes in [2^-4, 2^1): exponent field 11..15, any mantissa.
std::vector<uint16_t> random_half_bits(std::mt19937_64& rng, size_t n) {
  std::vector<uint16_t> bits(n);
  for (uint16_t& b : bits) {
    const auto sign = uint16_t(rng() & 1), exponent = uint16_t(11 + rng() % 5),
               mantissa = uint16_t(rng() & 0x3ff);
    b = uint16_t(sign << 15 | exponent << 10 | mantissa);
  }
  return bits;
}

std::vector<float> random_floats(std::mt19937_64& rng, size_t n) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

// softmax(Q K^T / sqrt(d)) V of one head by plain loops, in double.
std::vector<double> attention(const std::vector<double>& q, const std::vector<double>& k,
                              const std::vector<double>& v, size_t n_q, size_t n_k, size_t d) {
  std::vector<double> o(n_q * d, 0.0);
  const double scale = 1.0 / std::sqrt(double(d));
  for (size_t i = 0; i < n_q; ++i) {
    std::vector<double> s(n_k);
    double m = -INFINITY;
    for (size_t j = 0; j < n_k; ++j) {
      double dot = 0;
      for (size_t c = 0; c < d; ++c) dot += q[i * d + c] * k[j * d + c];
      s[j] = dot * scale;
      m = std::max(m, s[j]);
    }
    double l = 0;
    for (double& x : s) l += (x = std::exp(x - m));
    for (size_t j = 0; j < n_k; ++j)
      for (size_t c = 0; c < d; ++c) o[i * d + c] += s[j] / l * v[j * d + c];
  }
  return o;
}

std::vector<double> values(const NpyFile& f) {
  std::vector<double> v(npy_count(f));
  for (size_t i = 0; i < v.size(); ++i) v[i] = npy_element(f, i);
  return v;
}

std::string qkv_args(const TempDir& dir) {
  return "--q " + dir.path("q.npy") + " --k " + dir.path("k.npy") + " --v " + dir.path("v.npy");
}

void expect_bad(const std::string& args, const std::vector<std::string>& fragments) {
  const CliResult r = run_flashlab(args);
  INFO("flashlab " << args << "\nstderr: " << r.err);
  CHECK(r.exit_code == 2);
  CHECK(count_lines_with(r.err, "") == 1);
  CHECK(r.err.rfind("flashlab: error: ", 0) == 0);
  for (const std::string& f : fragments) CHECK(r.err.find(f) != std::string::npos);
}

// Writes `kv` as k.npy and v.npy in `dir`; returns " --k DIR/k.npy --v DIR/v.npy".
std::string write_kv(const TempDir& dir, const NpyFile& kv) {
  write_npy_file(dir.path("k.npy"), kv);
  write_npy_file(dir.path("v.npy"), kv);
  return " --k " + dir.path("k.npy") + " --v " + dir.path("v.npy");
}

}  // namespace

TEST_CASE("fp16 .npy inputs round-trip bit-exactly through --q/--k/--v and --save") {
  std::mt19937_64 rng(20240601);
  TempDir dir;
  const NpyFile q = float16_npy({1, 2, 16, 8}, random_half_bits(rng, 2 * 16 * 8));
  const NpyFile k = float16_npy({1, 2, 24, 8}, random_half_bits(rng, 2 * 24 * 8));
  const NpyFile v = float16_npy({1, 2, 24, 8}, random_half_bits(rng, 2 * 24 * 8));
  write_npy_file(dir.path("q.npy"), q);
  write_npy_file(dir.path("k.npy"), k);
  write_npy_file(dir.path("v.npy"), v);
  const CliResult r =
      run_flashlab("compare --dtype fp16 " + qkv_args(dir) + " --save " + dir.path("out"));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  for (const auto& [name, original] : {std::pair{"q.npy", q}, {"k.npy", k}, {"v.npy", v}}) {
    const NpyFile saved = read_npy_file(dir.path("out/") + name);
    INFO(name);
    CHECK(saved.descr == "<f2");
    CHECK(saved.shape == original.shape);
    CHECK(saved.data == original.data);
  }
}

TEST_CASE("fp32 2-D and 3-D inputs get leading 1s, and the saved O matches a plain loop") {
  std::mt19937_64 rng(77);
  TempDir dir;
  const size_t n_q = 12, n_k = 20, d = 8;
  const NpyFile q = float32_npy({int64_t(n_q), int64_t(d)}, random_floats(rng, n_q * d));
  const NpyFile k = float32_npy({1, int64_t(n_k), int64_t(d)}, random_floats(rng, n_k * d));
  const NpyFile v = float32_npy({int64_t(n_k), int64_t(d)}, random_floats(rng, n_k * d));
  write_npy_file(dir.path("q.npy"), q);
  write_npy_file(dir.path("k.npy"), k);
  write_npy_file(dir.path("v.npy"), v);
  const CliResult r =
      run_flashlab("compare --dtype fp32 " + qkv_args(dir) + " --save " + dir.path("out"));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);

  const NpyFile saved_q = read_npy_file(dir.path("out/q.npy"));
  CHECK(saved_q.descr == "<f4");
  CHECK(saved_q.shape == std::vector<int64_t>{1, 1, int64_t(n_q), int64_t(d)});
  CHECK(saved_q.data == q.data);

  const std::vector<double> expected = attention(values(q), values(k), values(v), n_q, n_k, d);
  const NpyFile ref_o = read_npy_file(dir.path("out/reference_O.npy"));
  const NpyFile flash_o = read_npy_file(dir.path("out/flash_sim_O.npy"));
  CHECK(ref_o.descr == "<f8");
  CHECK(flash_o.descr == "<f4");
  REQUIRE(npy_count(ref_o) == expected.size());
  REQUIRE(npy_count(flash_o) == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    CHECK(npy_element(ref_o, i) == doctest::Approx(expected[i]).epsilon(1e-12));
    // float32 arithmetic on O(1) values: a few ulps of 1e-7 per accumulated term.
    CHECK(std::fabs(npy_element(flash_o, i) - expected[i]) < 1e-5);
  }
}

TEST_CASE("a .npy block layout is used as the block-sparse mask and saved back") {
  TempDir dir;
  // 4x4 blocks of 16x16 over 64x64 scores; the diagonal keeps every row attending to something.
  NpyFile layout{"|u1", {4, 4}, {1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1}};
  write_npy_file(dir.path("layout.npy"), layout);
  const CliResult r = run_flashlab("compare --seq 64 --heads 1 --backward --block-sparse " +
                                   dir.path("layout.npy") + " --save " + dir.path("out"));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("density 0.438") != std::string::npos);  // 7 of 16 blocks
  const NpyFile saved = read_npy_file(dir.path("out/block_mask.npy"));
  CHECK(saved.shape == layout.shape);
  CHECK(saved.data == layout.data);
}

TEST_CASE("missing and malformed .npy files exit 2 naming the option and the file") {
  TempDir dir;
  std::mt19937_64 rng(5);
  const NpyFile good = float32_npy({1, 1, 8, 4}, random_floats(rng, 32));
  const std::string kv = write_kv(dir, good);

  expect_bad("compare --q " + dir.path("missing.npy") + kv, {"--q", "missing.npy"});

  std::vector<uint8_t> valid = npy_bytes(good);
  std::vector<std::pair<std::string, std::vector<uint8_t>>> bad_files;
  bad_files.push_back({"text", {'h', 'e', 'l', 'l', 'o'}});
  bad_files.push_back({"empty", {}});
  std::vector<uint8_t> magic = valid;
  magic[1] = 'X';
  bad_files.push_back({"bad magic", magic});
  bad_files.push_back(
      {"truncated header", std::vector<uint8_t>(valid.begin(), valid.begin() + 30)});
  bad_files.push_back({"truncated data", std::vector<uint8_t>(valid.begin(), valid.end() - 4)});
  std::vector<uint8_t> extra = valid;
  extra.push_back(0);
  bad_files.push_back({"extra data", extra});
  auto with_header = [&](std::string descr, std::string fortran, std::string shape) {
    NpyFile f = good;
    f.descr = descr;
    std::vector<uint8_t> b = npy_bytes(f);
    std::string text(b.begin(), b.end());
    if (!fortran.empty()) text.replace(text.find("False"), 5, fortran);
    if (!shape.empty()) text.replace(text.find("(1,1,8,4)"), 9, shape);
    return std::vector<uint8_t>(text.begin(), text.end());
  };
  bad_files.push_back({"big endian", with_header(">f4", "", "")});
  bad_files.push_back({"fortran order", with_header("<f4", "True ", "")});
  bad_files.push_back({"unsupported dtype", with_header("<c8", "", "")});
  bad_files.push_back({"shape larger than data", with_header("<f4", "", "(1,2,8,4)")});
  for (const auto& [what, bytes] : bad_files) {
    INFO(what);
    write_bytes(dir.path("bad.npy"), bytes);
    expect_bad("compare --q " + dir.path("bad.npy") + kv, {"--q", "bad.npy"});
  }
  // A 1-D array and an int32 array are well-formed files but not attention inputs.
  write_npy_file(dir.path("flat.npy"), float32_npy({32}, random_floats(rng, 32)));
  expect_bad("compare --q " + dir.path("flat.npy") + kv,
             {"--q", "[32]", "[batch, heads, seq, head_dim]"});
}

// The dtypes an option takes, and only those, are named: a complex file is not offered integer
// dtypes that --q refuses next, and raw '<V2' bytes are offered the option that reads them.
TEST_CASE("a .npy of the wrong dtype names the option, its dtype and what that option takes") {
  TempDir dir;
  std::mt19937_64 rng(21);
  const std::string kv = write_kv(dir, float32_npy({1, 1, 8, 4}, random_floats(rng, 32)));
  auto as = [&](const std::string& descr, size_t itemsize) {
    NpyFile f{descr, {1, 1, 8, 4}, std::vector<uint8_t>(32 * itemsize, 0)};
    write_npy_file(dir.path("q.npy"), f);
    return run_flashlab("compare --q " + dir.path("q.npy") + kv);
  };
  const CliResult complex = as("<c8", 8);
  INFO(complex.err);
  CHECK(complex.exit_code == 2);
  CHECK(complex.err.find("--q: ") != std::string::npos);
  CHECK(complex.err.find("unsupported dtype '<c8' (complex64); accepted: '<f2' (float16)") !=
        std::string::npos);
  for (const char* never : {"NpyReadOptions", "int32", "uint8", "bool"})
    CHECK(complex.err.find(never) == std::string::npos);
  const CliResult integers = as("<i4", 4);
  CHECK(integers.exit_code == 2);
  CHECK(integers.err.find("--q: ") != std::string::npos);
  CHECK(integers.err.find("dtype '<i4' (int32) is not accepted here; accepted: '<f2'") !=
        std::string::npos);
  const CliResult raw = as("<V2", 2);
  CHECK(raw.exit_code == 2);
  CHECK(raw.err.find("2 raw bytes (void); if they are bfloat16 as saved by ml_dtypes, add "
                     "--dtype bf16") != std::string::npos);
  CHECK(raw.err.find("NpyReadOptions") == std::string::npos);
  // A block layout takes integers and bools, not floats.
  write_npy_file(dir.path("layout.npy"), float32_npy({2, 2}, {1, 0, 0, 1}));
  const CliResult layout =
      run_flashlab("compare --seq 16 --heads 1 --block-sparse " + dir.path("layout.npy"));
  CHECK(layout.exit_code == 2);
  CHECK(layout.err.find("--block-sparse: ") != std::string::npos);
  CHECK(layout.err.find("dtype '<f4' (float32) is not accepted here; accepted: '|u1' (uint8), "
                        "'|b1' (bool), '<i4' (int32), '<i8' (int64)") != std::string::npos);
}

TEST_CASE("a shape mismatch blames the file that is out of line") {
  TempDir dir;
  std::mt19937_64 rng(23);
  write_npy_file(dir.path("q.npy"), float32_npy({1, 2, 8, 6}, random_floats(rng, 96)));
  write_npy_file(dir.path("k.npy"), float32_npy({1, 2, 16, 4}, random_floats(rng, 128)));
  write_npy_file(dir.path("k3.npy"), float32_npy({1, 3, 16, 4}, random_floats(rng, 192)));
  const std::string q = dir.path("q.npy"), k = dir.path("k.npy"), k3 = dir.path("k3.npy");
  // K and V agree, Q's head_dim is off: Q is at fault.
  const CliResult wrong_q = run_flashlab("compare --q " + q + " --k " + k + " --v " + k);
  CHECK(wrong_q.exit_code == 2);
  CHECK(wrong_q.err.find("--q shape [1, 2, 8, 6] does not fit --k and --v shape [1, 2, 16, 4]") !=
        std::string::npos);
  // Q fits K; V is the odd one out (and the other way round).
  write_npy_file(dir.path("q.npy"), float32_npy({1, 2, 8, 4}, random_floats(rng, 64)));
  const CliResult wrong_v = run_flashlab("compare --q " + q + " --k " + k + " --v " + k3);
  CHECK(wrong_v.err.find("--v shape [1, 3, 16, 4] does not match --k shape [1, 2, 16, 4]") !=
        std::string::npos);
  const CliResult wrong_k = run_flashlab("compare --q " + q + " --k " + k3 + " --v " + k);
  CHECK(wrong_k.err.find("--k shape [1, 3, 16, 4] does not match --v shape [1, 2, 16, 4]") !=
        std::string::npos);
}

TEST_CASE("mismatched shapes exit 2 naming both shapes") {
  TempDir dir;
  std::mt19937_64 rng(9);
  write_npy_file(dir.path("q.npy"), float32_npy({1, 2, 8, 4}, random_floats(rng, 64)));
  write_npy_file(dir.path("k.npy"), float32_npy({1, 2, 16, 6}, random_floats(rng, 192)));
  write_npy_file(dir.path("v.npy"), float32_npy({1, 2, 16, 6}, random_floats(rng, 192)));
  write_npy_file(dir.path("k2.npy"), float32_npy({1, 2, 16, 4}, random_floats(rng, 128)));
  write_npy_file(dir.path("v2.npy"), float32_npy({1, 2, 12, 4}, random_floats(rng, 96)));
  write_npy_file(dir.path("do.npy"), float32_npy({1, 2, 9, 4}, random_floats(rng, 72)));
  expect_bad("compare " + qkv_args(dir), {"[1, 2, 16, 6]", "[1, 2, 8, 4]"});
  const std::string qk2 = "compare --q " + dir.path("q.npy") + " --k " + dir.path("k2.npy");
  expect_bad(qk2 + " --v " + dir.path("v2.npy"), {"[1, 2, 12, 4]", "[1, 2, 16, 4]"});
  expect_bad(qk2 + " --v " + dir.path("k2.npy") + " --backward --do " + dir.path("do.npy"),
             {"--do", "[1, 2, 9, 4]", "[1, 2, 8, 4]"});
  expect_bad(qk2 + " --v " + dir.path("k2.npy") + " --seq-q 9", {"--seq-q 9 disagrees"});
  expect_bad("compare --q " + dir.path("q.npy"), {"--q, --k and --v go together"});
}

TEST_CASE("NaN, Inf and dtype overflow in inputs exit 2 naming the tensor and the index") {
  TempDir dir;
  std::mt19937_64 rng(13);
  std::vector<float> q = random_floats(rng, 32), k = random_floats(rng, 32);
  q[5] = std::numeric_limits<float>::quiet_NaN();
  k[7] = -std::numeric_limits<float>::infinity();
  write_npy_file(dir.path("q.npy"), float32_npy({1, 1, 8, 4}, q));
  write_npy_file(dir.path("k.npy"), float32_npy({1, 1, 8, 4}, k));
  write_npy_file(dir.path("v.npy"), float32_npy({1, 1, 8, 4}, random_floats(rng, 32)));
  expect_bad("compare " + qkv_args(dir), {"--q", "q.npy", "NaN", "[0, 0, 1, 1]"});
  q[5] = 1.0f;
  write_npy_file(dir.path("q.npy"), float32_npy({1, 1, 8, 4}, q));
  expect_bad("compare " + qkv_args(dir), {"--k", "k.npy", "Inf", "[0, 0, 1, 3]"});
  k[7] = 1e6f;  // finite in fp32, beyond fp16's 65504
  write_npy_file(dir.path("k.npy"), float32_npy({1, 1, 8, 4}, k));
  expect_bad("compare --dtype fp16 " + qkv_args(dir), {"--k", "overflows fp16"});
  // fp32 holds 1e6: accepted (logits that large may legitimately fail the tolerance, exit 1).
  CHECK(run_flashlab("compare --dtype fp32 " + qkv_args(dir)).exit_code != 2);
}
