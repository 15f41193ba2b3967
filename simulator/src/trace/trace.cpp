// Trace helpers: event kind names, interned texts, per-event softmax rows.
#include <flashlab/simulator/trace/trace.hpp>

namespace flashlab::simulator {

const char* to_string(EventKind k) {
  switch (k) {
    case EventKind::Load:
      return "load";
    case EventKind::Store:
      return "store";
    case EventKind::Alloc:
      return "alloc";
    case EventKind::Free:
      return "free";
    case EventKind::Compute:
      return "compute";
    case EventKind::SoftmaxUpdate:
      return "softmax";
    case EventKind::Skip:
      return "skip";
  }
  return "?";
}

const char* Trace::intern(std::string_view text) {
  if (!strings) strings = std::make_shared<std::deque<std::string>>();
  strings->emplace_back(text);
  return strings->back().c_str();
}

std::span<const SoftmaxRow> Trace::rows_of(const Event& e) const {
  if (e.softmax_count <= 0 || e.softmax_first < 0 ||
      e.softmax_first + e.softmax_count > int64_t(softmax_rows.size()))
    return {};
  return {softmax_rows.data() + e.softmax_first, size_t(e.softmax_count)};
}

std::string_view Trace::line_text(int line) const {
  if (line < 1 || line > int(pseudo_code.size())) return {};
  return pseudo_code[size_t(line - 1)];
}

}  // namespace flashlab::simulator
