// The timeline: play/pause, single steps, speed, jumps (next rescale, next write of O, next
// block), and a scrub bar marking where O is written and where the running max moves.
#include <imgui.h>

#include <algorithm>
#include <cmath>

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

bool tool_button(const char* label, const char* tooltip) {
  const bool pressed = ImGui::Button(label);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", tooltip);
  ImGui::SameLine();
  return pressed;
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
  ImGui::SameLine(0, 20);
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 12);
  ImGui::SliderFloat("##speed", &ui.speed, 1.0f, 20000.0f, "%.0f steps/s",
                     ImGuiSliderFlags_Logarithmic);
  ImGui::SameLine(0, 20);
  if (tool_button("< rescale", "previous step where a row's running max moved"))
    seek(replay, previous_step(replay, JumpTarget::Rescale));
  if (tool_button("rescale >",
                  "next step where a row's running max moved, so l and O are "
                  "rescaled by e^(m_old - m_new) (R)"))
    seek(replay, next_step(replay, JumpTarget::Rescale));
  if (tool_button("< write O", "previous write of O to HBM"))
    seek(replay, previous_step(replay, JumpTarget::WriteO));
  if (tool_button("write O >", "next write of O to HBM (O)"))
    seek(replay, next_step(replay, JumpTarget::WriteO));
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
  ticks(dl, session.o_write_events, n, a, w, a.y + 2, a.y + h * 0.45f, col(palette::kWrite, 200));
  ticks(dl, session.rescale_events, n, a, w, a.y + h * 0.55f, a.y + h - 2,
        col(palette::kRead, 160));
  dl->AddLine({fx, a.y - 2}, {fx, a.y + h + 2}, IM_COL32(255, 255, 255, 255), 3.0f);
  if (ImGui::IsItemHovered() && !ImGui::IsItemActive())
    ImGui::SetTooltip("drag to scrub; orange: writes of O, cyan: rescales");
}

}  // namespace flashlab::viz::app
