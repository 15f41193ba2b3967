// The timeline: play/pause, single steps, speed, jumps (next rescale, next write of O, next
// block), and a scrub bar marking where O is written and where the running max moves.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "app.hpp"
#include "theme.hpp"

namespace flashlab::viz::app {

namespace {

void ticks(ImDrawList* dl, const std::vector<int64_t>& events, int64_t n, ImVec2 a, float w,
           float y0, float y1, ImU32 color) {
  float last = -1;
  for (const int64_t e : events) {
    const float x = std::floor(a.x + w * float(double(e + 1) / double(std::max<int64_t>(1, n))));
    if (x == last) continue;  // one tick per pixel column
    dl->AddLine({x, y0}, {x, y1}, color, 1.0f);
    last = x;
  }
}

// A button with a tooltip. A disabled one (nothing to jump to) says why when hovered.
bool tool_button(const char* label, const std::string& tooltip, bool enabled = true) {
  ImGui::BeginDisabled(!enabled);
  const bool pressed = ImGui::Button(label);
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
    ImGui::SetTooltip("%s", tooltip.c_str());
  ImGui::SameLine();
  return pressed && enabled;
}

}  // namespace

void draw_timeline(const Session& session, ReplayState& replay, UiState& ui, double dt) {
  const int64_t n = step_count(replay);
  if (ui.playing) {
    ui.pending_events += double(ui.speed) * dt;
    const auto k = int64_t(std::floor(ui.pending_events));
    ui.pending_events -= double(k);
    seek(replay, replay.step + k);
    if (replay.step >= n) ui.playing = false;
  }

  if (tool_button("|<", "first step (Home)")) seek(replay, 0), ui.playing = false;
  if (tool_button("<", "step back (Left; Shift: 10)")) step_back(replay), ui.playing = false;
  const char* play = ui.playing ? sym(ui, Sym::Pause) : sym(ui, Sym::Play);
  ImGui::PushStyleColor(ImGuiCol_Button, col4(palette::kAccent));
  if (ImGui::Button(play, {ImGui::GetFrameHeight() * 2.2f, 0})) {
    if (!ui.playing && replay.step >= n) seek(replay, 0);
    ui.playing = !ui.playing;
  }
  ImGui::PopStyleColor();
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("play / pause (Space)");
  ImGui::SameLine();
  if (tool_button(">", "step forward (Right; Shift: 10)")) step_forward(replay), ui.playing = false;
  if (tool_button(">|", "last step (End)")) seek(replay, n), ui.playing = false;
  ImGui::Text("step %lld / %lld", static_cast<long long>(replay.step), static_cast<long long>(n));
  // Narrow windows (1024 wide) get a shorter speed slider, so the jumps stay on the line.
  const bool narrow = ImGui::GetWindowWidth() < 1200;
  const float gap = narrow ? 8.0f : 20.0f;
  ImGui::SameLine(0, gap);
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * (narrow ? 7.0f : 12.0f));
  ImGui::SliderFloat("##speed", &ui.speed, 1.0f, 20000.0f, "%.0f steps/s",
                     ImGuiSliderFlags_Logarithmic);
  ImGui::SameLine(0, gap);
  // Rescales exist only in a forward with an online softmax; say why the buttons are off.
  const std::string no_rescale = no_rescale_reason(session);
  const bool rescales = no_rescale.empty();
  if (tool_button("< rescale",
                  rescales ? "previous step where a row's running max moved" : no_rescale,
                  rescales))
    seek(replay, previous_step(replay, JumpTarget::Rescale));
  if (tool_button("rescale >",
                  rescales ? "next step where a row's running max moved, so l and O are "
                             "rescaled by e^(m_old - m_new) (R)"
                           : no_rescale,
                  rescales))
    seek(replay, next_step(replay, JumpTarget::Rescale));
  const std::string outputs = output_write_label(session);
  if (tool_button(("< write " + outputs).c_str(), "previous write of " + outputs + " to HBM"))
    seek(replay, previous_step(replay, JumpTarget::WriteOutput));
  if (tool_button(("write " + outputs + " >").c_str(), "next write of " + outputs + " to HBM (O)"))
    seek(replay, next_step(replay, JumpTarget::WriteOutput));
  if (tool_button("< block", "previous block (i, j) (PageUp)"))
    seek(replay, previous_step(replay, JumpTarget::Block));
  if (tool_button("block >", "next block (i, j) (PageDown)"))
    seek(replay, next_step(replay, JumpTarget::Block));
  ImGui::NewLine();

  // Scrub bar: drag anywhere on it. Orange ticks: writes of O; cyan: rescales.
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 a = ImGui::GetCursorScreenPos();
  const float w = ImGui::GetContentRegionAvail().x,
              h = std::max(18.0f, ImGui::GetContentRegionAvail().y - 4);
  ImGui::InvisibleButton("##scrub", {w, h});
  if (ImGui::IsItemActive() && n > 0) {
    const float f = std::clamp((ImGui::GetIO().MousePos.x - a.x) / w, 0.0f, 1.0f);
    seek(replay, int64_t(std::lround(double(f) * double(n))));
    ui.playing = false;
  }
  const float fx = a.x + w * float(n == 0 ? 0.0 : double(replay.step) / double(n));
  dl->AddRectFilled(a, {a.x + w, a.y + h}, col(palette::kCellEmpty), 4.0f);
  dl->AddRectFilled(a, {fx, a.y + h}, col(palette::kAccent, 90), 4.0f);
  ticks(dl, session.output_write_events, n, a, w, a.y + 2, a.y + h * 0.45f,
        col(palette::kWrite, 200));
  ticks(dl, session.rescale_events, n, a, w, a.y + h * 0.55f, a.y + h - 2,
        col(palette::kRead, 160));
  dl->AddLine({fx, a.y - 2}, {fx, a.y + h + 2}, IM_COL32(255, 255, 255, 255), 3.0f);
  if (ImGui::IsItemHovered() && !ImGui::IsItemActive())
    ImGui::SetTooltip("drag to scrub; orange: writes of %s, cyan: rescales",
                      output_write_label(session).c_str());
}

}  // namespace flashlab::viz::app
