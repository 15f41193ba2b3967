// Terminal detection and ANSI styling for the CLI's tables and verdict lines.
#include <flashlab/cli/terminal.hpp>

#include <unistd.h>

#include <cstdlib>
#include <flashlab/core/error.hpp>

namespace flashlab::cli {

ColorMode parse_color_mode(const std::string& text) {
  if (text == "auto") return ColorMode::Auto;
  if (text == "always") return ColorMode::Always;
  if (text == "never") return ColorMode::Never;
  throw Error("--color must be auto, always or never, got '" + text + "'");
}

bool is_terminal(std::FILE* stream) {
  return ::isatty(::fileno(stream)) == 1;
}

bool colors_enabled(ColorMode mode, std::FILE* stream) {
  if (mode != ColorMode::Auto) return mode == ColorMode::Always;
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && no_color[0] != '\0') return false;
  return is_terminal(stream);
}

std::string Palette::paint(const std::string& text, Tone tone) const {
  if (!enabled || tone == Tone::Plain) return text;
  const char* code = "";
  switch (tone) {
    case Tone::Good:
      code = "\033[32m";
      break;
    case Tone::Bad:
      code = "\033[1;31m";
      break;
    case Tone::Warn:
      code = "\033[33m";
      break;
    case Tone::Dim:
      code = "\033[2m";
      break;
    case Tone::Bold:
      code = "\033[1m";
      break;
    case Tone::Plain:
      break;
  }
  return code + text + "\033[0m";
}

namespace {

void print_labelled(const char* label, Tone tone, const std::string& message) {
  const Palette palette{colors_enabled(ColorMode::Auto, stderr)};
  std::fflush(stdout);
  std::fprintf(stderr, "flashlab: %s %s\n", palette.paint(label, tone).c_str(), message.c_str());
}

}  // namespace

void print_warning(const std::string& message) {
  print_labelled("warning:", Tone::Warn, message);
}

void print_note(const std::string& message) {
  print_labelled("note:", Tone::Dim, message);
}

}  // namespace flashlab::cli
