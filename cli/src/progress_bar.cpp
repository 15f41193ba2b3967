// Progress bar drawing: carriage return, a 30-cell bar, the percentage, the step running, the
// time elapsed and left; a timer thread redraws it four times a second.
#include <flashlab/cli/progress_bar.hpp>

#include <algorithm>
#include <cmath>

namespace flashlab::cli {
namespace {

std::string duration_text(double seconds) {
  const long s = std::lround(seconds);
  return s < 120 ? std::to_string(s) + " s"
                 : std::to_string(s / 60) + " min " + std::to_string(s % 60) + " s";
}

}  // namespace

ProgressBar::ProgressBar(std::vector<double> step_seconds, bool enabled, std::FILE* out)
    : weights_(std::move(step_seconds)), enabled_(enabled && !weights_.empty()), out_(out) {
  if (enabled_) timer_ = std::thread([this] { tick(); });
}

ProgressBar::~ProgressBar() {
  finish();
}

void ProgressBar::update(size_t done, const std::string& label) {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  done_ = std::min(done, weights_.size());
  label_ = label;
  step_start_ = Clock::now();
  draw();
}

void ProgressBar::finish() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stop_) return;
    stop_ = true;
    if (drawn_) {
      std::fprintf(out_, "\r\033[K");
      std::fflush(out_);
      drawn_ = false;
    }
  }
  wake_.notify_all();
  if (timer_.joinable()) timer_.join();
}

void ProgressBar::draw() {
  double total = 0, finished = 0;
  for (size_t k = 0; k < weights_.size(); ++k) {
    total += weights_[k];
    if (k < done_) finished += weights_[k];
  }
  // Within the running step: its elapsed share of the estimate, never past 95 % of it.
  const auto now = Clock::now();
  if (done_ < weights_.size()) {
    const double in_step = std::chrono::duration<double>(now - step_start_).count();
    finished += weights_[done_] * std::min(0.95, in_step / std::max(weights_[done_], 1e-9));
  }
  const double fraction = total > 0 ? std::clamp(finished / total, 0.0, 1.0) : 1.0;
  constexpr size_t kCells = 30;
  const auto filled = size_t(fraction * double(kCells));
  const std::string bar = std::string(filled, '#') + std::string(kCells - filled, '.');
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  std::string time = duration_text(elapsed) + " elapsed";
  if (fraction > 0.02) time += ", about " + duration_text(elapsed / fraction - elapsed) + " left";
  std::fprintf(out_, "\r\033[K[%s] %3d%% %s (%s)", bar.c_str(), int(fraction * 100), label_.c_str(),
               time.c_str());
  std::fflush(out_);
  drawn_ = true;
}

void ProgressBar::tick() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stop_; }))
    if (drawn_) draw();
}

}  // namespace flashlab::cli
