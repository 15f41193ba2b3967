// flashlab-viz --trace A --compare B: the two runs side by side (A left, "your run"; B right,
// "the solution"), each with its HBM view, pseudo-code and SRAM, moved together one loop step
// (i, j) at a time; a banner with the first difference and the current step's differences, and a
// strip of all aligned steps coloured by whether they differ.
#include <imgui.h>

#include <algorithm>
#include <cmath>

#include "app.hpp"
#include "theme.hpp"

namespace flashlab::viz::app {

namespace {

palette::Rgb row_color(const AlignedStep& r) {
  return r.diverges() ? palette::kDiverge : r.differences.empty() ? palette::kSame : palette::kNote;
}

// The next / previous diverging row after / before `row`, or `row` when there is none.
size_t next_divergence(const Comparison& c, size_t row, int direction) {
  for (int64_t r = int64_t(row) + direction; r >= 0 && r < int64_t(c.rows.size()); r += direction)
    if (c.rows[size_t(r)].diverges()) return size_t(r);
  return row;
}

void compare_keys(CompareView& v) {
  const ImGuiIO& io = ImGui::GetIO();
  if (io.WantTextInput || v.comparison.rows.empty()) return;
  auto pressed = [](ImGuiKey key) { return ImGui::IsKeyPressed(ImGui::GetKeyIndex(key), true); };
  const int64_t stride = io.KeyShift ? 10 : 1;
  const int64_t last = int64_t(v.comparison.rows.size()) - 1;
  auto go = [&](int64_t row) { set_compare_row(v, size_t(std::clamp<int64_t>(row, 0, last))); };
  if (pressed(ImGuiKey_RightArrow)) go(int64_t(v.row) + stride);
  if (pressed(ImGuiKey_LeftArrow)) go(int64_t(v.row) - stride);
  if (pressed(ImGuiKey_Home)) go(0);
  if (pressed(ImGuiKey_End)) go(last);
  if (pressed(ImGuiKey_PageDown)) go(int64_t(next_divergence(v.comparison, v.row, 1)));
  if (pressed(ImGuiKey_PageUp)) go(int64_t(next_divergence(v.comparison, v.row, -1)));
}

// The step an aligned row shows for one run: "step 5 of 31: block (i=1, j=0)".
std::string pane_step_text(const CompareView& v, bool left) {
  const Comparison& c = v.comparison;
  const AlignedStep& r = c.rows[v.row];
  const std::optional<size_t> own = left ? r.left : r.right;
  const auto& steps = left ? c.left_steps : c.right_steps;
  if (!own) return "no such step in this run (shown: where its previous step ended)";
  const LoopStep& s = steps[*own];
  return "step " + std::to_string(*own + 1) + " of " + std::to_string(steps.size()) + ": " +
         step_label(s.i, s.j) + ", events " + std::to_string(s.first + 1) + ".." +
         std::to_string(s.end);
}

void draw_banner(CompareView& v) {
  const Comparison& c = v.comparison;
  ImGui::PushStyleColor(ImGuiCol_Text,
                        col4(c.first_divergence ? palette::kDiverge : palette::kCompute));
  ImGui::TextWrapped("%s", c.summary.c_str());
  ImGui::PopStyleColor();
  if (c.rows.empty()) return;
  const AlignedStep& r = c.rows[v.row];
  const LoopStep& s = r.left ? c.left_steps[*r.left] : c.right_steps[*r.right];
  ImGui::Text("Aligned step %zu of %zu, %s:", v.row + 1, c.rows.size(),
              step_label(s.i, s.j).c_str());
  if (r.differences.empty()) {
    ImGui::SameLine();
    ImGui::TextColored(col4(palette::kTextDim),
                       "the same loads, stores, skipped and computed blocks in both runs");
  }
  for (const Difference& d : r.differences) {
    ImGui::PushStyleColor(ImGuiCol_Text, col4(d.diverges() ? palette::kDiverge : palette::kNote));
    ImGui::Bullet();
    ImGui::TextWrapped("%s", d.text.c_str());
    ImGui::PopStyleColor();
  }
}

// One run: the step line, then the model's HBM view of where this run is.
void draw_pane_hbm(const CompareView& v, bool left, const Session& s, const ReplayState& r,
                   UiState& ui) {
  const AlignedStep& row = v.comparison.rows[v.row];
  const bool here = left ? row.left.has_value() : row.right.has_value();
  const palette::Rgb c = !here ? palette::kDiverge : row_color(row);
  ImGui::PushStyleColor(ImGuiCol_Text, col4(c));
  ImGui::TextUnformatted(pane_step_text(v, left).c_str());
  ImGui::PopStyleColor();
  draw_hbm(s, hbm_view_data(r), ui);
}

void draw_strip(CompareView& v) {
  const Comparison& c = v.comparison;
  const size_t n = c.rows.size();
  auto button = [](const char* label, const char* tip) {
    const bool p = ImGui::Button(label);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", tip);
    ImGui::SameLine();
    return p;
  };
  const int64_t last = int64_t(n) - 1;
  auto go = [&](int64_t row) { set_compare_row(v, size_t(std::clamp<int64_t>(row, 0, last))); };
  if (button("|<", "first step (Home)")) go(0);
  if (button("<", "previous loop step (Left; Shift: 10)")) go(int64_t(v.row) - 1);
  if (button(">", "next loop step (Right; Shift: 10)")) go(int64_t(v.row) + 1);
  if (button(">|", "last step (End)")) go(last);
  if (button("< difference", "previous step where the runs differ (PageUp)"))
    go(int64_t(next_divergence(c, v.row, -1)));
  if (button("difference >", "next step where the runs differ (PageDown)"))
    go(int64_t(next_divergence(c, v.row, 1)));
  if (c.first_divergence && button("first difference", "the first step where the runs differ"))
    go(int64_t(*c.first_divergence));
  ImGui::Text("%zu of %zu steps differ%s", c.diverging_rows, n,
              c.first_divergence ? "" : ": the runs match step for step");

  // One cell per aligned step: grey the same, red different, amber other arithmetic only.
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 a = ImGui::GetCursorScreenPos();
  const float w = ImGui::GetContentRegionAvail().x,
              h = std::max(16.0f, ImGui::GetContentRegionAvail().y - 4);
  ImGui::InvisibleButton("##steps", {w, h});
  if (ImGui::IsItemActive() && n > 0) {
    const float f = std::clamp((ImGui::GetIO().MousePos.x - a.x) / w, 0.0f, 0.9999f);
    const auto row = size_t(f * float(n));
    if (row != v.row) set_compare_row(v, row);
  }
  dl->AddRectFilled(a, {a.x + w, a.y + h}, col(palette::kCellEmpty), 3.0f);
  const float cw = w / float(std::max<size_t>(1, n));
  for (size_t k = 0; k < n; ++k) {
    const float x0 = std::floor(a.x + cw * float(k)), x1 = std::floor(a.x + cw * float(k + 1));
    dl->AddRectFilled({x0, a.y + 2}, {std::max(x0 + 1, x1 - (cw > 4 ? 1.0f : 0.0f)), a.y + h - 2},
                      col(row_color(c.rows[k])));
  }
  const float x = a.x + cw * (float(v.row) + 0.5f);
  dl->AddLine({x, a.y - 2}, {x, a.y + h + 2}, IM_COL32(255, 255, 255, 255), 3.0f);
  if (ImGui::IsItemHovered() && !ImGui::IsItemActive())
    ImGui::SetTooltip("drag to move both runs; red: the runs differ at that loop step");
}

}  // namespace

void set_compare_row(CompareView& v, size_t row) {
  const Comparison& c = v.comparison;
  v.row = c.rows.empty() ? 0 : std::min(row, c.rows.size() - 1);
  seek(*v.left_replay, c.rows.empty() ? 0 : replay_step(c, v.row, true));
  seek(*v.right_replay, c.rows.empty() ? 0 : replay_step(c, v.row, false));
}

std::unique_ptr<CompareView> open_compare(const Session& left, Session right, int64_t row) {
  auto v = std::make_unique<CompareView>();
  v->left = std::make_unique<Session>(left);
  v->right = std::make_unique<Session>(std::move(right));
  v->comparison = compare_traces(v->left->trace, v->right->trace);
  v->left_replay = make_replay(*v->left);
  v->right_replay = make_replay(*v->right);
  set_compare_row(*v, row >= 0 ? size_t(row) : v->comparison.first_divergence.value_or(0));
  return v;
}

void draw_compare(CompareView& v, UiState& ui) {
  compare_keys(v);
  const ImGuiIO& io = ImGui::GetIO();
  const float W = io.DisplaySize.x, H = io.DisplaySize.y, gap = 4.0f;
  const float banner_h = std::round(std::clamp(H * 0.13f, 96.0f, 150.0f));
  const float strip_h = std::round(std::clamp(H * 0.1f, 96.0f, 120.0f));
  const float pane_w = std::floor((W - gap) * 0.5f);
  const float main_h = H - banner_h - strip_h - 2 * gap;
  const float hbm_h = std::round(main_h * 0.6f), lower_h = main_h - hbm_h - gap;
  const float code_w = std::round(pane_w * 0.58f);
  const float y_main = banner_h + gap, y_lower = y_main + hbm_h + gap;

  if (begin_panel("Your run against the solution", {0, 0}, {W, banner_h})) draw_banner(v);
  ImGui::End();
  if (v.comparison.rows.empty()) return;

  for (const bool left : {true, false}) {
    const float x = left ? 0.0f : pane_w + gap;
    const Session& s = left ? *v.left : *v.right;
    const ReplayState& r = left ? *v.left_replay : *v.right_replay;
    const std::string who = left ? v.comparison.left_name : v.comparison.right_name;
    const std::string id = left ? "##left" : "##right";
    if (begin_panel((who + ": " + s.title + id).c_str(), {x, y_main}, {pane_w, hbm_h}))
      draw_pane_hbm(v, left, s, r, ui);
    ImGui::End();
    // Each pane keeps its own pseudo-code scroll position.
    std::swap(ui.scroll_line, v.scroll_line[left ? 0 : 1]);
    if (begin_panel(("Pseudo-code, " + who + id).c_str(), {x, y_lower}, {code_w, lower_h}))
      draw_pseudo_code(pseudo_code_data(r), ui);
    ImGui::End();
    std::swap(ui.scroll_line, v.scroll_line[left ? 0 : 1]);
    if (begin_panel(("SRAM, " + who + id).c_str(), {x + code_w + gap, y_lower},
                    {pane_w - code_w - gap, lower_h}))
      draw_sram(sram_view_data(r), ui);
    ImGui::End();
  }

  if (begin_panel("Loop steps (i, j), aligned", {0, H - strip_h}, {W, strip_h})) draw_strip(v);
  ImGui::End();
}

}  // namespace flashlab::viz::app
