// Algorithm names for output, the CLI and JSON.
#include <flashlab/simulator/algorithm.hpp>

#include <flashlab/core/error.hpp>

namespace flashlab::simulator {

const char* to_string(Algorithm a) {
  switch (a) {
    case Algorithm::Standard:
      return "standard";
    case Algorithm::Flash:
      return "flash";
    case Algorithm::Flash2:
      return "flash2";
  }
  return "?";
}

Algorithm algorithm_from_string(const std::string& name) {
  if (name == "standard") return Algorithm::Standard;
  if (name == "flash" || name == "fa1") return Algorithm::Flash;
  if (name == "flash2" || name == "fa2") return Algorithm::Flash2;
  throw Error("unknown algorithm '" + name + "'; accepted: standard, flash (fa1), flash2 (fa2)");
}

}  // namespace flashlab::simulator
