// A one-line progress bar on stderr for long runs (compare, trace, sweep): the steps of the run
// weighted by their estimated seconds, the step running now, the time elapsed and about how much
// is left. Between updates a timer thread advances the bar within the running step from its
// estimate, so that a long step still shows life. Drawn only when enabled (callers enable it when
// stderr is a terminal and the run is estimated to take more than a couple of seconds), so that
// logs and pipes stay clean.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace flashlab::cli {

// Runs estimated to take longer than this show a progress bar.
inline constexpr double kProgressAfterSeconds = 2.0;

class ProgressBar {
 public:
  // `step_seconds[k]` is the estimated duration of step k. Draws on `out` only when `enabled`.
  ProgressBar(std::vector<double> step_seconds, bool enabled, std::FILE* out = stderr);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Steps [0, done) are finished and step `done` starts now; `label` says what it is.
  void update(size_t done, const std::string& label);
  // Stops the timer and clears the line.
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  void draw();  // with mutex_ held
  void tick();  // the timer thread

  std::vector<double> weights_;
  bool enabled_;
  std::FILE* out_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false, drawn_ = false;
  size_t done_ = 0;
  std::string label_;
  Clock::time_point start_ = Clock::now(), step_start_ = start_;
  std::thread timer_;
};

}  // namespace flashlab::cli
