// The style, the fonts and the symbol fallbacks.
#include "theme.hpp"

#include <filesystem>

namespace flashlab::viz::app {

namespace {

// Debian's fonts-dejavu-core; Dear ImGui's built-in ProggyClean is the fallback.
constexpr const char* kSansPaths[] = {"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                                      "/usr/share/fonts/TTF/DejaVuSans.ttf"};
constexpr const char* kMonoPaths[] = {"/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
                                      "/usr/share/fonts/TTF/DejaVuSansMono.ttf"};

template <size_t N>
const char* first_existing(const char* const (&paths)[N]) {
  std::error_code ec;
  for (const char* p : paths)
    if (std::filesystem::exists(p, ec)) return p;
  return nullptr;
}

const ImWchar* glyph_ranges() {
  // Latin-1, Greek (tau, Theta), punctuation, sub/superscripts, arrows, math operators,
  // geometric shapes (play/pause triangles).
  static const ImWchar kRanges[] = {0x0020, 0x00FF, 0x0370, 0x03FF, 0x2000, 0x206F, 0x2070, 0x209F,
                                    0x2190, 0x21FF, 0x2200, 0x22FF, 0x25A0, 0x25FF, 0};
  return kRanges;
}

}  // namespace

void setup_theme(UiState& ui, float scale) {
  ImGuiIO& io = ImGui::GetIO();
  const char* sans = first_existing(kSansPaths);
  const char* mono = first_existing(kMonoPaths);
  ui.unicode = sans != nullptr;
  if (sans != nullptr) {
    io.Fonts->AddFontFromFileTTF(sans, 15.0f * scale, nullptr, glyph_ranges());
    ui.mono =
        mono ? io.Fonts->AddFontFromFileTTF(mono, 14.0f * scale, nullptr, glyph_ranges()) : nullptr;
    ui.small = io.Fonts->AddFontFromFileTTF(sans, 12.5f * scale, nullptr, glyph_ranges());
  } else {
    ImFontConfig config;
    config.SizePixels = 13.0f * scale;
    io.Fonts->AddFontDefault(&config);
  }

  ImGuiStyle& s = ImGui::GetStyle();
  ImGui::StyleColorsDark(&s);
  s.WindowRounding = 6.0f;
  s.ChildRounding = 4.0f;
  s.FrameRounding = 4.0f;
  s.GrabRounding = 4.0f;
  s.PopupRounding = 4.0f;
  s.ScrollbarRounding = 6.0f;
  s.TabRounding = 4.0f;
  s.WindowBorderSize = 1.0f;
  s.FrameBorderSize = 0.0f;
  s.WindowPadding = ImVec2(10, 8);
  s.FramePadding = ImVec2(7, 4);
  s.ItemSpacing = ImVec2(8, 5);
  s.ItemInnerSpacing = ImVec2(6, 4);
  s.CellPadding = ImVec2(5, 2);
  s.ScrollbarSize = 12.0f;
  s.WindowTitleAlign = ImVec2(0.0f, 0.5f);
  s.ScaleAllSizes(scale);

  using namespace palette;
  ImVec4* c = s.Colors;
  c[ImGuiCol_Text] = col4(kText);
  c[ImGuiCol_TextDisabled] = col4(kTextDim);
  c[ImGuiCol_WindowBg] = col4(kPanel);
  c[ImGuiCol_ChildBg] = col4(kPanel);
  c[ImGuiCol_PopupBg] = col4({30, 33, 43});
  c[ImGuiCol_Border] = col4({52, 57, 72});
  c[ImGuiCol_FrameBg] = col4({38, 42, 55});
  c[ImGuiCol_FrameBgHovered] = col4({50, 55, 73});
  c[ImGuiCol_FrameBgActive] = col4({60, 66, 90});
  c[ImGuiCol_TitleBg] = col4({30, 33, 43});
  c[ImGuiCol_TitleBgActive] = col4({38, 41, 60});
  c[ImGuiCol_TitleBgCollapsed] = col4({30, 33, 43});
  c[ImGuiCol_MenuBarBg] = col4({30, 33, 43});
  c[ImGuiCol_CheckMark] = col4({165, 180, 252});
  c[ImGuiCol_SliderGrab] = col4(kAccent);
  c[ImGuiCol_SliderGrabActive] = col4({129, 140, 248});
  c[ImGuiCol_Button] = col4({52, 56, 84});
  c[ImGuiCol_ButtonHovered] = col4({72, 76, 130});
  c[ImGuiCol_ButtonActive] = col4(kAccent);
  c[ImGuiCol_Header] = col4({52, 56, 84});
  c[ImGuiCol_HeaderHovered] = col4({72, 76, 130});
  c[ImGuiCol_HeaderActive] = col4(kAccent);
  c[ImGuiCol_Separator] = col4({52, 57, 72});
  c[ImGuiCol_TableHeaderBg] = col4({36, 40, 54});
  c[ImGuiCol_TableBorderStrong] = col4({52, 57, 72});
  c[ImGuiCol_TableBorderLight] = col4({42, 46, 60});
  c[ImGuiCol_TableRowBg] = col4(kPanel, 0.0f);
  c[ImGuiCol_TableRowBgAlt] = col4({255, 255, 255}, 0.025f);
  c[ImGuiCol_PlotLines] = col4(kAccent);
  c[ImGuiCol_PlotHistogram] = col4(kAccent);
}

const char* sym(const UiState& ui, Sym s) {
  switch (s) {
    case Sym::Arrow:
      return ui.unicode ? "\u2192" : "->";
    case Sym::Times:
      return "\u00d7";  // Latin-1: in every font
    case Sym::Tau:
      return ui.unicode ? "\u03c4" : "tau";
    case Sym::Theta:
      return ui.unicode ? "\u0398" : "Theta";
    case Sym::Leq:
      return ui.unicode ? "\u2264" : "<=";
    case Sym::Play:
      return ui.unicode ? "\u25b6" : ">";
    case Sym::Pause:
      return ui.unicode ? "\u25ae\u25ae" : "||";
  }
  return "";
}

void dim_text_wrapped(const char* text) {
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  ImGui::TextWrapped("%s", text);
  ImGui::PopStyleColor();
}

}  // namespace flashlab::viz::app
