// Command-line values the benchmark tools share (flashlab-gpu-bench, flashlab-gpu-calls): a list
// of sizes and a dropout probability, refused with flashlab::Error naming what is wrong.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <flashlab/core/dropout.hpp>
#include <flashlab/core/error.hpp>

namespace flashlab::bench {

// "512,1024,2048" -> {512, 1024, 2048}.
inline std::vector<int64_t> parse_int_list(const char* text) {
  std::vector<int64_t> out;
  for (const char* p = text; *p;) {
    char* end = nullptr;
    out.push_back(std::strtoll(p, &end, 10));
    require(end != p, std::string("not a list of integers: ") + text);
    p = end;
    if (*p == ',') ++p;
  }
  return out;
}

// A dropout probability that core's rule accepts: in [0, 1) and representable in 16 bits.
inline double parse_dropout(const char* text) {
  char* end = nullptr;
  const double p = std::strtod(text, &end);
  require(end != text && *end == '\0', std::string("not a probability: ") + text);
  make_dropout(p, 0);
  return p;
}

}  // namespace flashlab::bench
