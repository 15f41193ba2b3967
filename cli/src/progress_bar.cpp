// Progress bar drawing: carriage return, a 30-cell bar, the count and the current point.
#include <flashlab/cli/progress_bar.hpp>

#include <cstdio>

namespace flashlab::cli {

ProgressBar::ProgressBar(size_t total, bool enabled) : total_(total), enabled_(enabled) {}

ProgressBar::~ProgressBar() {
  finish();
}

void ProgressBar::update(size_t done, const std::string& label) {
  if (!enabled_ || total_ == 0) return;
  constexpr size_t kCells = 30;
  const size_t filled = done * kCells / total_;
  std::string bar(filled, '#');
  bar += std::string(kCells - filled, '.');
  std::fprintf(stderr, "\r\033[K[%s] %zu/%zu %s", bar.c_str(), done, total_, label.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace flashlab::cli
