// Colours only where a person reads them: ANSI styles when the stream is a terminal and NO_COLOR
// is unset (https://no-color.org), or when --color always asks for them.
#pragma once

#include <cstdio>
#include <string>

namespace flashlab::cli {

enum class ColorMode { Auto, Always, Never };

// "auto", "always" or "never"; throws flashlab::Error naming the accepted values otherwise.
ColorMode parse_color_mode(const std::string& text);

bool is_terminal(std::FILE* stream);

// Auto: the stream is a terminal and NO_COLOR is unset or empty.
bool colors_enabled(ColorMode mode, std::FILE* stream);

// How a piece of text is shown; Plain everywhere when colours are off.
enum class Tone { Plain, Good, Bad, Warn, Dim, Bold };

struct Palette {
  bool enabled = false;
  std::string paint(const std::string& text, Tone tone) const;
};

// "flashlab: warning: <message>" on stderr, one line: something worth knowing that is not an
// error (the run goes on, the exit code does not change).
void print_warning(const std::string& message);

// "flashlab: note: <message>" on stderr, one line: information only.
void print_note(const std::string& message);

}  // namespace flashlab::cli
