// The one error type of flashlab: thrown where input is validated, shown by the CLI as one line.
#pragma once

#include <stdexcept>
#include <string>

namespace flashlab {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws Error(message) when `condition` is false. For validating user input at a boundary.
inline void require(bool condition, const std::string& message) {
  if (!condition) throw Error(message);
}

}  // namespace flashlab
