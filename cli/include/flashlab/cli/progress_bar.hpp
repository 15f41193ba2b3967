// A one-line progress bar on stderr for long sweeps, drawn only when stderr is a terminal so that
// logs and pipes stay clean.
#pragma once

#include <cstddef>
#include <string>

namespace flashlab::cli {

class ProgressBar {
 public:
  // Draws nothing unless `enabled` (callers pass is_terminal(stderr)).
  ProgressBar(size_t total, bool enabled);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Shows `done` of `total` steps finished and what runs now, e.g. "N=4096".
  void update(size_t done, const std::string& label);
  // Clears the line.
  void finish();

 private:
  size_t total_;
  bool enabled_;
  bool drawn_ = false;
};

}  // namespace flashlab::cli
