// The pseudo-code panel: the algorithm's lines as the paper numbers them, the line the current
// step executes highlighted (and kept in view), how many steps each line has taken so far.
#include <imgui.h>

#include <cstdio>

#include "app.hpp"
#include "theme.hpp"

namespace flashlab::viz::app {

void draw_pseudo_code(const PseudoCodeData& d, UiState& ui) {
  ImGui::TextUnformatted(d.title.data(), d.title.data() + d.title.size());
  // The footer holds "this step:" and the step's description, wrapped.
  const float text_h =
      ImGui::CalcTextSize(d.step_text.c_str(), nullptr, false, ImGui::GetContentRegionAvail().x).y;
  const float footer = ImGui::GetTextLineHeightWithSpacing() * 1.6f + text_h;
  ImGui::BeginChild("##code", {0, -footer}, false);
  if (ui.mono) ImGui::PushFont(ui.mono);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float number_w = ImGui::CalcTextSize("00 ").x;
  const float hits_w = ImGui::CalcTextSize(" 000000").x;
  const float right = ImGui::GetContentRegionAvail().x;
  for (size_t k = 0; k < d.lines.size(); ++k) {
    const int line = int(k) + 1;
    const bool current = line == d.current_line;
    const ImVec2 p = ImGui::GetCursorScreenPos();
    ImGui::TextDisabled("%2d", line);
    ImGui::SameLine();
    ImGui::SetCursorScreenPos({p.x + number_w, p.y});
    // Wrap before the hit counter's column.
    ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + right - hits_w - number_w);
    const std::string& text = d.lines[k];
    const ImVec2 size =
        ImGui::CalcTextSize(text.c_str(), nullptr, false, right - hits_w - number_w);
    if (current) {
      dl->AddRectFilled({p.x - 4, p.y - 1}, {p.x + right, p.y + size.y + 1},
                        col(palette::kAccent, 110), 3.0f);
      dl->AddRectFilled({p.x - 4, p.y - 1}, {p.x - 1, p.y + size.y + 1}, col(palette::kResident));
    }
    ImGui::TextUnformatted(text.c_str());
    ImGui::PopTextWrapPos();
    if (k < d.hits.size() && d.hits[k] > 0) {
      char buf[24];
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(d.hits[k]));
      const float tw = ImGui::CalcTextSize(buf).x;
      dl->AddText({p.x + right - tw, p.y}, col(palette::kTextDim), buf);
    }
    if (current && ui.scroll_line != line) {
      ImGui::SetScrollHereY(0.4f);
      ui.scroll_line = line;
    }
  }
  if (ui.mono) ImGui::PopFont();
  ImGui::EndChild();
  ImGui::Separator();
  if (d.line_ref.empty())
    ImGui::TextDisabled("this step%s", d.current_line > 0 ? ":" : "");
  else
    ImGui::TextDisabled("this step, %s:", d.line_ref.c_str());
  ImGui::TextWrapped("%s", d.step_text.c_str());
}

}  // namespace flashlab::viz::app
