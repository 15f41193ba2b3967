// Seeded mutation fuzzing of the trace reader, run in CI (simulator/fuzz/trace_fuzzer.cpp is the
// open-ended, coverage-guided version): real traces of every algorithm and pass, with bytes
// flipped, inserted, deleted or cut off and numbers replaced by extreme ones, must be read into a
// trace that keeps the reader's promises or refused with flashlab::Error (trace_fuzz_property.hpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <flashlab/simulator/simulate.hpp>
#include <flashlab/test/random.hpp>
#include <nlohmann/json.hpp>

#include "trace_fuzz_property.hpp"
#include "trace_kinds.hpp"

namespace flashlab::simulator {
namespace {

// Every kind of trace the simulator writes, as JSON text.
std::vector<std::string> seed_traces(std::mt19937_64& rng) {
  std::vector<std::string> seeds;
  for (const Trace& t : test::traces_of_every_kind(rng)) seeds.push_back(to_json(t).dump());
  return seeds;
}

// Numbers that sit on the edges of what a field accepts.
constexpr std::string_view kExtremes[] = {"-1",
                                          "0",
                                          "1",
                                          "-2",
                                          "3",
                                          "0.5",
                                          "100000000",
                                          "1073741824",
                                          "1073741825",
                                          "2147483648",
                                          "9223372036854775807",
                                          "18446744073709551615",
                                          "1e308",
                                          "\"nan\"",
                                          "\"-inf\""};
constexpr std::string_view kJsonAlphabet = "{}[]\":,-0123456789.e ";

void mutate(std::string& text, std::mt19937_64& rng) {
  const auto pick = [&rng](size_t n) { return size_t(rng() % std::max<size_t>(n, 1)); };
  switch (rng() % 6) {
    case 0:  // a number replaced by an extreme one
    case 1: {
      size_t at = pick(text.size());
      while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])) == 0) ++at;
      if (at >= text.size()) break;
      size_t end = at;
      while (end < text.size() &&
             std::string_view("-+.e0123456789").find(text[end]) != std::string_view::npos)
        ++end;
      if (at > 0 && text[at - 1] == '-') --at;
      text.replace(at, end - at, kExtremes[pick(std::size(kExtremes))]);
      break;
    }
    case 2:  // one byte overwritten
      if (!text.empty()) text[pick(text.size())] = kJsonAlphabet[pick(kJsonAlphabet.size())];
      break;
    case 3:  // cut off
      text.resize(pick(text.size() + 1));
      break;
    case 4:  // a few bytes inserted
      text.insert(pick(text.size() + 1), 1 + pick(3), kJsonAlphabet[pick(kJsonAlphabet.size())]);
      break;
    default: {  // a few bytes deleted
      const size_t at = pick(text.size());
      text.erase(at, std::min(text.size() - at, 1 + pick(4)));
      break;
    }
  }
}

bool read_succeeds(const std::string& text) {
  try {
    read_trace_json(text);
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

// The libFuzzer target starts from tests/simulator/trace_corpus (traces written by
// `flashlab trace`, and `{}`): they must stay readable as the format changes.
TEST_CASE("the fuzzer's corpus seeds are real traces the reader accepts") {
  int seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(FLASHLAB_TRACE_CORPUS_DIR)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CAPTURE(entry.path().string());
    CHECK(fuzz::trace_reader_violation(text).empty());
    if (entry.path().filename() != "empty_object.json") CHECK(read_succeeds(text));
    ++seeds;
  }
  CHECK(seeds >= 5);
}

TEST_CASE("mutated traces are read keeping the reader's promises or refused with Error") {
  FLASHLAB_TEST_RNG(rng, "trace mutation fuzz");
  const std::vector<std::string> seeds = seed_traces(rng);
  for (const std::string& seed : seeds) REQUIRE(fuzz::trace_reader_violation(seed).empty());
  constexpr int kIterations = 1000;
  int accepted = 0;
  for (int iteration = 0; iteration < kIterations; ++iteration) {
    std::string text = seeds[rng() % seeds.size()];
    for (uint64_t m = 1 + rng() % 3; m > 0; --m) mutate(text, rng);
    const std::string violation = fuzz::trace_reader_violation(text);
    if (!violation.empty()) FAIL_CHECK(violation << " for input: " << text.substr(0, 2000));
    accepted += read_succeeds(text) ? 1 : 0;
  }
  // Both outcomes occur, so the property was checked on accepted traces too.
  MESSAGE(accepted << " of " << kIterations << " mutated traces accepted");
  CHECK(accepted > 0);
  CHECK(accepted < kIterations);
}

}  // namespace flashlab::simulator
