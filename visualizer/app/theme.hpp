// Look and feel: the Dear ImGui style built from the palette, the fonts (DejaVu when installed,
// else Dear ImGui's built-in font), colour helpers and symbols with an ASCII fallback.
#pragma once

#include <imgui.h>

#include <flashlab/viz/palette.hpp>

#include "app.hpp"

namespace flashlab::viz::app {

inline ImU32 col(palette::Rgb c, int alpha = 255) {
  return IM_COL32(c.r, c.g, c.b, alpha);
}
inline ImVec4 col4(palette::Rgb c, float alpha = 1.0f) {
  return {float(c.r) / 255.0f, float(c.g) / 255.0f, float(c.b) / 255.0f, alpha};
}

// Sets the style and loads the fonts at `scale` (1 = 15 px body text).
void setup_theme(UiState& ui, float scale);

// Symbols used in labels: the Unicode one when the font has it, else ASCII.
enum class Sym { Arrow, Times, Tau, Theta, Leq, Play, Pause };
const char* sym(const UiState& ui, Sym s);

// Text in the dim colour, wrapped to the window.
void dim_text_wrapped(const char* text);

}  // namespace flashlab::viz::app
