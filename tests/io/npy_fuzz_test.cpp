// Seeded mutation fuzzing of the .npy reader: valid files with bytes flipped, overwritten,
// inserted, deleted or cut off must be read consistently or refused with flashlab::Error; never a
// crash, another exception type, or an allocation larger than the file. (io/fuzz/npy_fuzzer.cpp
// is the open-ended, coverage-guided version.)
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <flashlab/core/error.hpp>
#include <flashlab/io/npy.hpp>
#include <flashlab/test/random.hpp>

#include "hand_made_npy.hpp"

using namespace flashlab;
using namespace flashlab::io;

namespace {

// A valid file in parts, so that a mutation can change the header and keep its length field right.
struct NpyParts {
  int major;
  std::string header;
  std::vector<uint8_t> data;
};

NpyParts split(const std::vector<uint8_t>& file) {
  const size_t header_length = file[8] | (size_t(file[9]) << 8);  // version 1.0 from the writer
  return {file[6],
          std::string(file.begin() + 10, file.begin() + 10 + std::ptrdiff_t(header_length)),
          std::vector<uint8_t>(file.begin() + 10 + std::ptrdiff_t(header_length), file.end())};
}

// Valid files covering every dtype, every header version, padded and unpadded headers.
std::vector<NpyParts> seed_files(std::mt19937_64& rng) {
  std::vector<NpyParts> seeds;
  const Tensor<float> t = test::random_tensor<float>(rng, {2, 3});
  for (const NpyStorage storage :
       {NpyStorage::kFloat32, NpyStorage::kFloat64, NpyStorage::kFloat16, NpyStorage::kBfloat16Raw})
    seeds.push_back(split(serialize_npy(to_npy_array(t, storage))));
  seeds.push_back(split(serialize_npy(to_npy_array(Tensor<double>({}, 2.5)))));
  seeds.push_back(split(serialize_npy({"uint8", {2, 2}, {1, 0, 0, 1}, ""})));
  seeds.push_back(split(serialize_npy({"bool", {3}, {1, 0, 1}, ""})));
  seeds.push_back(split(serialize_npy({"int64", {0, 5}, {}, ""})));
  for (const int major : {2, 3})
    seeds.push_back({major, "{'descr': '<i4', 'shape': (1, 2,), 'fortran_order': False}\n",
                     std::vector<uint8_t>(8, 1)});
  return seeds;
}

// Bytes that matter to the header parser, so that overwrites often make near-valid headers.
constexpr std::string_view kHeaderAlphabet = "{}()[]'\",: \n-0123456789LTrueFalsdcrhpo<>|=fiubV";

template <typename Bytes>
void mutate(Bytes& bytes, std::mt19937_64& rng) {
  using Byte = typename Bytes::value_type;
  const auto pick = [&rng](size_t n) { return size_t(rng() % n); };
  const auto random_byte = [&] {
    return Byte(rng() % 2 ? uint8_t(rng())
                          : uint8_t(kHeaderAlphabet[pick(kHeaderAlphabet.size())]));
  };
  switch (rng() % 5) {
    case 0:  // flip one bit
      if (!bytes.empty()) bytes[pick(bytes.size())] ^= Byte(1u << pick(8));
      break;
    case 1:  // overwrite one byte
      if (!bytes.empty()) bytes[pick(bytes.size())] = random_byte();
      break;
    case 2:  // cut off the end
      bytes.resize(pick(bytes.size() + 1));
      break;
    case 3: {  // insert a few bytes
      const size_t at = pick(bytes.size() + 1);
      for (size_t count = 1 + pick(4); count > 0; --count)
        bytes.insert(bytes.begin() + std::ptrdiff_t(at), random_byte());
      break;
    }
    default: {  // delete a few bytes
      if (bytes.empty()) break;
      const size_t at = pick(bytes.size());
      const size_t count = std::min(bytes.size() - at, 1 + pick(4));
      bytes.erase(bytes.begin() + std::ptrdiff_t(at), bytes.begin() + std::ptrdiff_t(at + count));
      break;
    }
  }
}

// Half of the files get their header text mutated with the length field kept right, which reaches
// the dict parser; the other half get raw byte mutations anywhere, length field included.
std::vector<uint8_t> mutated_file(const NpyParts& seed, std::mt19937_64& rng) {
  const uint64_t mutations = 1 + rng() % 3;
  if (rng() % 2 == 0) {
    NpyParts parts = seed;
    for (uint64_t m = 0; m < mutations; ++m) mutate(parts.header, rng);
    if (rng() % 4 == 0) mutate(parts.data, rng);
    return test::hand_made_npy(parts.major, parts.header, parts.data);
  }
  std::vector<uint8_t> file = test::hand_made_npy(seed.major, seed.header, seed.data);
  for (uint64_t m = 0; m < mutations; ++m) mutate(file, rng);
  return file;
}

std::string hex(const std::vector<uint8_t>& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const uint8_t b : bytes) out += std::string{kHex[b >> 4], kHex[b & 15], ' '};
  return out;
}

}  // namespace

TEST_CASE("mutated .npy files are read consistently or refused with flashlab::Error") {
  FLASHLAB_TEST_RNG(rng, "npy mutation fuzz");
  const std::vector<NpyParts> seeds = seed_files(rng);
  constexpr int kIterations = 30000;
  int accepted = 0;
  int refused = 0;
  for (int iteration = 0; iteration < kIterations; ++iteration) {
    const std::vector<uint8_t> file = mutated_file(seeds[rng() % seeds.size()], rng);
    NpyReadOptions options;
    options.void2_is_bfloat16 = rng() % 2 == 0;
    const size_t file_size = file.size();
    std::string failure;
    try {
      const NpyArray array = parse_npy(file, "fuzz.npy", options);
      // The invariant, recomputed here: bytes == product(shape) * itemsize, within the file.
      auto expected = uint64_t(npy_itemsize(array.dtype));
      for (const int64_t dim : array.shape) {
        if (dim < 0 || (dim > 0 && expected > UINT64_MAX / uint64_t(dim)))
          failure = "negative dimension, or a shape whose size overflows, accepted";
        else
          expected *= uint64_t(dim);
      }
      if (failure.empty() && expected != array.bytes.size())
        failure = "bytes.size() does not match the shape";
      if (array.bytes.size() > file_size) failure = "more bytes than the file holds";
      // Decoding a consistent array must also only ever throw Error.
      try {
        (void)to_tensor<double>(array);
      } catch (const Error&) {
      }
      try {
        (void)to_tensor<uint8_t>(array);
      } catch (const Error&) {
      }
      ++accepted;
    } catch (const Error&) {
      ++refused;
    } catch (const std::exception& e) {
      failure = std::string("threw a non-flashlab exception: ") + e.what();
    }
    if (!failure.empty()) {
      INFO("iteration " << iteration << ", file bytes: " << hex(file));
      FAIL(failure);
    }
  }
  // Both outcomes must be common, or the mutations are not exercising the reader (about 4% of
  // the mutated files are still valid).
  INFO(accepted << " mutated files read, " << refused << " refused");
  CHECK(accepted > kIterations / 100);
  CHECK(refused > kIterations / 4);
}
