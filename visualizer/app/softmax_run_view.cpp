// flashlab-viz --softmax-run FILE: lab 1's online softmax from the student's code, one row at a
// time, block by block (FA1 §3.1): the scores with the blocks merged so far, the student's states
// beside the exact ones in float64 with the factors e^{m - m_new}, and the student's
// probabilities against the exact softmax. The first wrong state is marked in red.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

#include <flashlab/core/error.hpp>

#include "app.hpp"
#include "theme.hpp"

namespace flashlab::viz::app {

namespace {

std::string num(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.5g", x);
  return buf;
}

std::string pair_text(const RowStats& s) {
  return "(" + num(s.m) + ", " + num(s.l) + ")";
}

// Takes `size` at the cursor for a chart on the panel's background; its corners.
std::pair<ImVec2, ImVec2> chart_area(ImVec2 size) {
  const ImVec2 a = ImGui::GetCursorScreenPos(), b{a.x + size.x, a.y + size.y};
  ImGui::Dummy(size);
  ImGui::GetWindowDrawList()->AddRectFilled(a, b, col(palette::kBackground), 3.0f);
  return {a, b};
}

void softmax_run_keys(SoftmaxRunView& v) {
  const ImGuiIO& io = ImGui::GetIO();
  if (io.WantTextInput) return;
  auto pressed = [](ImGuiKey key) { return ImGui::IsKeyPressed(ImGui::GetKeyIndex(key), true); };
  const size_t steps = v.run.rows[v.row].steps.size();
  if (pressed(ImGuiKey_RightArrow)) v.steps = std::min(steps, v.steps + 1);
  if (pressed(ImGuiKey_LeftArrow) && v.steps > 0) --v.steps;
  if (pressed(ImGuiKey_Home)) v.steps = 0;
  if (pressed(ImGuiKey_End)) v.steps = steps;
  const bool down = pressed(ImGuiKey_DownArrow) || pressed(ImGuiKey_PageDown);
  const bool up = pressed(ImGuiKey_UpArrow) || pressed(ImGuiKey_PageUp);
  if ((down && v.row + 1 < v.run.rows.size()) || (up && v.row > 0)) {
    v.row = down ? v.row + 1 : v.row - 1;
    v.steps = v.run.rows[v.row].steps.size();
  }
}

// The scores by key: blocks merged so far in colour, the block of the current step green, the
// rest grey, masked keys (-inf) as dark slots; the running max of the student's state (yellow)
// and the exact one (white tick at the right) after the current step.
void scores_chart(const SoftmaxRunView& v, ImVec2 size) {
  const SoftmaxRunRow& row = v.run.rows[v.row];
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const auto [a, b] = chart_area(size);
  const int64_t n = int64_t(row.scores.size()), B = std::max<int64_t>(1, v.run.block_size);
  float lo = 0, hi = 0;
  for (const float s : row.scores)
    if (std::isfinite(s)) lo = std::min(lo, s), hi = std::max(hi, s);
  if (hi - lo < 1e-6f) hi = lo + 1;
  const float pad = 6, top = a.y + pad, bottom = b.y - pad;
  auto y_of = [&](double s) { return float(bottom - (s - lo) / (hi - lo) * (bottom - top)); };
  const float bw = (size.x - 2 * pad) / float(std::max<int64_t>(1, n));
  const int64_t current = int64_t(v.steps) - 1;  // the block of the last applied step
  for (int64_t c = 0; c < n; ++c) {
    const int64_t j = c / B;
    const float x0 = a.x + pad + bw * float(c), x1 = x0 + std::max(1.0f, bw - 2);
    const float s = row.scores[size_t(c)];
    if (!std::isfinite(s)) {
      dl->AddRectFilled({x0, top}, {x1, bottom}, col(palette::kSkipped));
      continue;
    }
    const palette::Rgb base = j == current  ? palette::kCompute
                              : j < current ? palette::kAccent
                                            : palette::kTextDim;
    dl->AddRectFilled({x0, std::min(y_of(s), y_of(0))}, {x1, std::max(y_of(s), y_of(0))},
                      col(base, j > current ? 90 : 255));
    if (c % B == 0 && c > 0)
      dl->AddLine({x0 - 1, a.y + 2}, {x0 - 1, b.y - 2}, IM_COL32(255, 255, 255, 60));
  }
  if (v.steps > 0 && v.steps <= row.steps.size()) {
    const SoftmaxRunStep& s = row.steps[v.steps - 1];
    if (std::isfinite(s.after.m) && s.after.m >= lo && s.after.m <= hi)
      dl->AddLine({a.x + pad, y_of(s.after.m)}, {b.x - pad, y_of(s.after.m)},
                  col(palette::kResident), 2.0f);
    if (std::isfinite(s.exact_after.m))
      dl->AddTriangleFilled({b.x - 1, y_of(s.exact_after.m)}, {b.x - 9, y_of(s.exact_after.m) - 5},
                            {b.x - 9, y_of(s.exact_after.m) + 5}, col(palette::kText));
  }
}

void steps_table(const SoftmaxRunView& v) {
  const SoftmaxRunRow& row = v.run.rows[v.row];
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV |
                                ImGuiTableFlags_ScrollY | ImGuiTableFlags_SizingStretchProp;
  if (!ImGui::BeginTable("steps", 7, flags)) return;
  ImGui::TableSetupScrollFreeze(0, 1);
  for (const char* h : {"block (keys)", "your block_state (m~, l~)", "exact", "your merge (m, l)",
                        "exact", "e^(m - m_new), e^(m~ - m_new)", ""})
    ImGui::TableSetupColumn(h);
  ImGui::TableHeadersRow();
  for (size_t k = 0; k < row.steps.size(); ++k) {
    const SoftmaxRunStep& s = row.steps[k];
    const bool applied = k < v.steps;
    ImGui::TableNextRow();
    if (k + 1 == v.steps)
      ImGui::TableSetBgColor(ImGuiTableBgTarget_RowBg0, col(palette::kCompute, 50));
    const ImVec4 dim = col4(palette::kTextDim), text = col4(palette::kText),
                 bad = col4(palette::kDiverge);
    ImGui::TableNextColumn();
    ImGui::TextColored(applied ? text : dim, "%lld (%lld..%lld)", static_cast<long long>(s.block),
                       static_cast<long long>(s.col0), static_cast<long long>(s.col0 + s.cols - 1));
    ImGui::TableNextColumn();
    ImGui::TextColored(!applied     ? dim
                       : s.block_ok ? text
                                    : bad,
                       "%s", pair_text(s.block_state).c_str());
    ImGui::TableNextColumn();
    ImGui::TextColored(dim, "%s", pair_text(s.exact_block).c_str());
    ImGui::TableNextColumn();
    ImGui::TextColored(!applied ? dim : s.merge_ok ? text : bad, "%s", pair_text(s.after).c_str());
    ImGui::TableNextColumn();
    ImGui::TextColored(dim, "%s", pair_text(s.exact_after).c_str());
    ImGui::TableNextColumn();
    const bool moved = s.old_factor < 1.0 && s.exact_before.m != -INFINITY;
    ImGui::TextColored(moved ? col4(palette::kRead) : dim, "%s, %s", num(s.old_factor).c_str(),
                       num(s.block_factor).c_str());
    ImGui::TableNextColumn();
    if (row.first_wrong_step == k)
      ImGui::TextColored(bad, "first wrong");
    else if (applied && s.block_ok && s.merge_ok)
      ImGui::TextColored(col4(palette::kCompute), "ok");
  }
  ImGui::EndTable();
}

// The student's probabilities (bars) against the exact softmax (white ticks).
void probabilities_chart(const SoftmaxRunRow& row, ImVec2 size) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const auto [a, b] = chart_area(size);
  const size_t n = row.exact_softmax.size();
  const float pad = 6, bw = (size.x - 2 * pad) / float(std::max<size_t>(1, n));
  // Scaled to the largest probability of either (a wrong one may exceed 1: clipped there).
  double hi = 0;
  for (size_t k = 0; k < n; ++k) {
    hi = std::max(hi, row.exact_softmax[k]);
    if (k < row.softmax.size() && std::isfinite(row.softmax[k]))
      hi = std::max(hi, double(row.softmax[k]));
  }
  hi = std::clamp(hi, 1e-9, 1.0);
  auto y_of = [&](double p) {
    return float(b.y - pad - std::clamp(p / hi, 0.0, 1.0) * (size.y - 2 * pad));
  };
  for (size_t k = 0; k < n; ++k) {
    const float x0 = a.x + pad + bw * float(k), x1 = x0 + std::max(1.0f, bw - 2);
    if (k < row.softmax.size()) {
      const bool bad = k < row.p_wrong.size() && row.p_wrong[k];
      const double p = std::isfinite(row.softmax[k]) ? row.softmax[k] : hi;
      dl->AddRectFilled({x0, y_of(p)}, {x1, b.y - pad},
                        col(bad ? palette::kDiverge : palette::kAccent));
    }
    dl->AddLine({x0, y_of(row.exact_softmax[k])}, {x1, y_of(row.exact_softmax[k])},
                col(palette::kText), 2.0f);
  }
}

void rows_list(SoftmaxRunView& v) {
  for (size_t r = 0; r < v.run.rows.size(); ++r) {
    const SoftmaxRunRow& row = v.run.rows[r];
    ImGui::PushID(int(r));
    ImGui::PushStyleColor(ImGuiCol_Text, col4(row.ok() ? palette::kCompute : palette::kDiverge));
    const std::string label = std::string(row.ok() ? "ok   " : "WRONG ") + row.label;
    if (ImGui::Selectable(label.c_str(), r == v.row)) v.row = r, v.steps = row.steps.size();
    ImGui::PopStyleColor();
    ImGui::PopID();
  }
}

}  // namespace

std::unique_ptr<SoftmaxRunView> open_softmax_run(const std::string& path, int row, int64_t steps) {
  auto v = std::make_unique<SoftmaxRunView>();
  try {
    v->run = load_softmax_run(path);  // its errors begin "PATH: "
  } catch (const Error& e) {
    throw Error(std::string("--softmax-run ") + e.what());
  }
  const SoftmaxRunCursor start = first_problem(v->run);
  v->row = row >= 0 ? std::min(size_t(row), v->run.rows.size() - 1) : start.row;
  const size_t n = v->run.rows[v->row].steps.size();
  v->steps = steps >= 0 ? std::min(size_t(steps), n) : row >= 0 ? n : start.steps;
  return v;
}

void draw_softmax_run(SoftmaxRunView& v) {
  softmax_run_keys(v);
  const ImGuiIO& io = ImGui::GetIO();
  const float W = io.DisplaySize.x, H = io.DisplaySize.y, gap = 4.0f;
  const float left_w = std::round(std::clamp(W * 0.27f, 280.0f, 460.0f));
  const float x = left_w + gap, w = W - x;
  const SoftmaxRunRow& row = v.run.rows[v.row];

  if (begin_panel("Lab 1: your online softmax", {0, 0}, {left_w, H})) {
    ImGui::TextWrapped("%s", v.run.title.c_str());
    ImGui::TextColored(col4(palette::kTextDim), "%s", v.run.source.c_str());
    ImGui::Separator();
    rows_list(v);
    ImGui::Separator();
    ImGui::PushStyleColor(ImGuiCol_Text, col4(row.ok() ? palette::kCompute : palette::kDiverge));
    ImGui::TextWrapped("%s", row.verdict.c_str());
    ImGui::PopStyleColor();
    ImGui::Separator();
    dim_text_wrapped(
        "Each step merges the state (m, l) of the keys so far with the block's own state "
        "(m~, l~): m_new = max(m, m~), l_new = e^(m - m_new) l + e^(m~ - m_new) l~ (FA1 §3.1). "
        "Your block_state and merge computed the states shown; the exact ones are float64 "
        "over the same scores. Left/Right: step, Up/Down: row.");
  }
  ImGui::End();

  const float chart_h = std::round(H * 0.34f), table_h = std::round(H * 0.36f);
  if (begin_panel(("Row: " + row.label).c_str(), {x, 0}, {w, chart_h})) {
    ImGui::Text("step %zu of %zu: %s", v.steps, row.steps.size(),
                v.steps == 0 ? "nothing merged yet"
                             : ("merged blocks 0.." + std::to_string(v.steps - 1) +
                                "; yellow: your running max, white mark: the exact one")
                                   .c_str());
    scores_chart(v, ImGui::GetContentRegionAvail());
  }
  ImGui::End();
  if (begin_panel("Your states, block by block, beside the exact ones", {x, chart_h + gap},
                  {w, table_h})) {
    if (!row.error.empty()) ImGui::TextColored(col4(palette::kDiverge), "%s", row.error.c_str());
    steps_table(v);
  }
  ImGui::End();
  const float py = chart_h + table_h + 2 * gap;
  if (begin_panel("Your online_softmax (bars) against the exact softmax (white)", {x, py},
                  {w, H - py})) {
    if (!row.softmax_error.empty())
      ImGui::TextColored(col4(palette::kDiverge), "%s", row.softmax_error.c_str());
    else
      probabilities_chart(row, ImGui::GetContentRegionAvail());
  }
  ImGui::End();
}

}  // namespace flashlab::viz::app
