// Which attention algorithm a simulation runs: standard (FA1 Alg. 0 / FA1 Alg. 3), FlashAttention
// (FA1 Alg. 2 with FA1 Alg. 5's block skipping / FA1 Alg. 4), or the FlashAttention-2 loop order
// (FA2 Alg. 1).
#pragma once

#include <cstdint>
#include <string>

namespace flashlab::simulator {

enum class Algorithm : uint8_t { Standard, Flash, Flash2 };

// "standard", "flash", "flash2".
const char* to_string(Algorithm a);

// Inverse of to_string (also accepts "fa1"/"fa2"); throws flashlab::Error naming accepted values.
Algorithm algorithm_from_string(const std::string& name);

}  // namespace flashlab::simulator
