// The online-softmax panel (paper §3.1): one query row's scores block by block, the running max
// m and sum l after each block, the rescale factor e^{m_old - m_new} that shrinks the old l and
// partial output, and at the end the row's probabilities beside the float64 reference.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <flashlab/viz/layout.hpp>

#include "app.hpp"
#include "theme.hpp"

namespace flashlab::viz::app {

namespace {

enum class BlockState { Future, Done, Current, Skipped };

std::string num(double x, const char* fmt = "%.4f") {
  if (std::isnan(x)) return "-";
  if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, x);
  return buf;
}

BlockState block_state(const SoftmaxPanelData& d, int64_t j) {
  for (const int64_t s : d.skipped_blocks)
    if (s == j) return BlockState::Skipped;
  // Without online updates the whole row is normalized at once (or was, by the forward).
  if (!d.online) return d.finished ? BlockState::Done : BlockState::Future;
  for (size_t k = 0; k < d.steps.size(); ++k) {
    if (d.steps[k].j != j) continue;
    if (d.current && *d.current == k) return BlockState::Current;
    if (d.steps[k].done) return BlockState::Done;
  }
  return BlockState::Future;
}

// Bars of the row's scores by key column, coloured by the state of their block, with the
// running max as a line.
void scores_chart(const Session& session, const SoftmaxPanelData& d, const UiState& ui,
                  ImVec2 size) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 a = ImGui::GetCursorScreenPos(), b{a.x + size.x, a.y + size.y};
  ImGui::Dummy(size);
  dl->AddRectFilled(a, b, col(palette::kBackground), 3.0f);
  const int64_t n = int64_t(d.scores.size());
  const int64_t Bc = std::max<int64_t>(1, session.trace.tiles.block_cols);
  float lo = 0, hi = 0;
  for (const float s : d.scores)
    if (std::isfinite(s)) lo = std::min(lo, s), hi = std::max(hi, s);
  if (hi - lo < 1e-6f) hi = lo + 1;
  const float pad = 4, top = a.y + pad + 12, bottom = b.y - pad;
  auto y_of = [&](float v) { return bottom - (v - lo) / (hi - lo) * (bottom - top); };
  const float bw = (size.x - 2 * pad) / float(std::max<int64_t>(1, n));
  const int64_t Tc = ceil_div(n, Bc);
  // Block bands and boundaries.
  for (int64_t j = 0; j < Tc; ++j) {
    const float x0 = a.x + pad + bw * float(j * Bc),
                x1 = a.x + pad + bw * float(std::min(n, (j + 1) * Bc));
    const BlockState st = block_state(d, j);
    if (st == BlockState::Current)
      dl->AddRectFilled({x0, a.y + 1}, {x1, b.y - 1}, col(palette::kCompute, 40));
    if (st == BlockState::Skipped)
      dl->AddRectFilled({x0, a.y + 1}, {x1, b.y - 1}, col(palette::kSkipped, 160));
    if (j > 0) dl->AddLine({x0, a.y + 2}, {x0, b.y - 2}, IM_COL32(255, 255, 255, 40));
  }
  const float zero = y_of(0);
  for (int64_t c = 0; c < n; ++c) {
    const float s = d.scores[size_t(c)];
    if (!std::isfinite(s)) continue;
    const int64_t j = c / Bc;
    const BlockState st = block_state(d, j);
    const palette::Rgb base =
        (j % 2 == 0) ? palette::Rgb{129, 140, 248} : palette::Rgb{192, 132, 252};
    const ImU32 color = st == BlockState::Current ? col(palette::kCompute)
                        : st == BlockState::Done  ? col(base)
                                                  : col(palette::kTextDim, 90);
    const float x0 = a.x + pad + bw * float(c);
    const float x1 = std::max(x0 + 1, x0 + bw - (bw >= 4 ? 1 : 0));
    dl->AddRectFilled({x0, std::min(zero, y_of(s))}, {x1, std::max(zero, y_of(s)) + 0.5f}, color);
  }
  dl->AddLine({a.x + pad, zero}, {b.x - pad, zero}, IM_COL32(255, 255, 255, 60));
  char title[96];
  std::snprintf(title, sizeof title, "scores of row %lld (s = %s q k^T)",
                static_cast<long long>(d.row), sym(ui, Sym::Tau));
  dl->AddText({a.x + pad + 2, a.y + 2}, col(palette::kTextDim), title);
  if (std::isfinite(d.m_now)) {
    const float y = y_of(d.m_now), line_h = ImGui::GetTextLineHeight();
    for (float x = a.x + pad; x < b.x - pad; x += 8)
      dl->AddLine({x, y}, {std::min(x + 5, b.x - pad), y}, col(palette::kResident), 1.5f);
    const std::string label = "running max m = " + num(d.m_now, "%.3f");
    // Right-aligned above the line, or below it when it would run into the title.
    const float ty = y - line_h - 1 < a.y + line_h + 2 ? y + 2 : y - line_h - 1;
    dl->AddText({b.x - pad - ImGui::CalcTextSize(label.c_str()).x, ty}, col(palette::kResident),
                label.c_str());
  }
}

// The row's probabilities from the trace's final statistics beside the reference's.
void result_chart(const SoftmaxPanelData& d, ImVec2 size) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 a = ImGui::GetCursorScreenPos(), b{a.x + size.x, a.y + size.y};
  ImGui::Dummy(size);
  dl->AddRectFilled(a, b, col(palette::kBackground), 3.0f);
  const size_t n = d.p_result.size();
  double hi = 0;
  for (size_t c = 0; c < n; ++c) hi = std::max({hi, d.p_result[c], d.p_reference[c]});
  if (hi <= 0) hi = 1;
  const float pad = 4, top = a.y + pad + 12, bottom = b.y - pad;
  const float bw = (size.x - 2 * pad) / float(std::max<size_t>(1, n));
  for (size_t c = 0; c < n; ++c) {
    const float x0 = a.x + pad + bw * float(c), x1 = std::max(x0 + 1, x0 + bw - (bw >= 4 ? 1 : 0));
    const float y = bottom - float(d.p_result[c] / hi) * (bottom - top);
    dl->AddRectFilled({x0, y}, {x1, bottom}, col(palette::kAccent));
    const float yr = bottom - float(d.p_reference[c] / hi) * (bottom - top);
    dl->AddLine({x0, yr}, {x1 + 0.5f, yr}, IM_COL32(255, 255, 255, 230), 2.0f);
  }
  dl->AddText({a.x + pad + 2, a.y + 2}, col(palette::kTextDim),
              "softmax of the row: bars = result, white = float64 reference");
}

// The widths the table's columns need for their widest content (headers and typical values),
// and their sum: below it the table scrolls sideways rather than cut a column off.
struct StepColumns {
  std::string m_head, l_head;
  float widths[6] = {};
  float total = 0;
};

StepColumns step_columns(const UiState& ui) {
  StepColumns c;
  const char* arrow = sym(ui, Sym::Arrow);
  c.m_head = std::string("m: old ") + arrow + " new";
  c.l_head = std::string("l: old ") + arrow + " new";
  const std::string m_value = std::string("-12.345 ") + arrow + " -12.345";
  const std::string l_value = std::string("1234.56 ") + arrow + " 1234.56";
  const std::string widest[6] = {"9999", "-12.345", m_value, "0 (first)", l_value, "99999"};
  const std::string heads[6] = {"j", "max s", c.m_head, "rescale", c.l_head, "step"};
  const float pad = 2 * ImGui::GetStyle().CellPadding.x + ImGui::GetStyle().ItemSpacing.x;
  for (int k = 0; k < 6; ++k) {
    c.widths[k] = std::max(ImGui::CalcTextSize(widest[k].c_str()).x,
                           ImGui::CalcTextSize(heads[k].c_str()).x) +
                  pad;
    c.total += c.widths[k];
  }
  c.total += ImGui::GetStyle().ScrollbarSize;
  return c;
}

void steps_table(const SoftmaxPanelData& d, ReplayState& replay, UiState& ui) {
  const StepColumns cols = step_columns(ui);
  // Wide enough: columns share the width; else fixed widths and a horizontal scrollbar.
  const bool fits = ImGui::GetContentRegionAvail().x >= cols.total;
  const ImGuiTableFlags flags =
      ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY | ImGuiTableFlags_BordersInnerH |
      (fits ? ImGuiTableFlags_SizingStretchProp : ImGuiTableFlags_ScrollX);
  if (!ImGui::BeginTable("##steps", 6, flags, ImGui::GetContentRegionAvail())) return;
  ImGui::TableSetupScrollFreeze(0, 1);
  const char* arrow = sym(ui, Sym::Arrow);
  const char* names[6] = {"j",   "max s", cols.m_head.c_str(), "rescale", cols.l_head.c_str(),
                          "step"};
  for (int k = 0; k < 6; ++k)
    ImGui::TableSetupColumn(
        names[k], fits ? ImGuiTableColumnFlags_WidthStretch : ImGuiTableColumnFlags_WidthFixed,
        cols.widths[k]);
  ImGui::TableHeadersRow();
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("rescale = e^(m_old - m_new): multiplies the old l and the partial output");
  for (size_t k = 0; k < d.steps.size(); ++k) {
    const SoftmaxStep& s = d.steps[k];
    const bool current = d.current && *d.current == k;
    ImGui::TableNextRow();
    if (current) ImGui::TableSetBgColor(ImGuiTableBgTarget_RowBg1, col(palette::kCompute, 60));
    if (!s.done) ImGui::PushStyleColor(ImGuiCol_Text, col4(palette::kTextDim, 0.75f));
    ImGui::TableSetColumnIndex(0);
    char label[32];
    std::snprintf(label, sizeof label, "%lld##%zu", static_cast<long long>(s.j), k);
    if (ImGui::Selectable(label, false, ImGuiSelectableFlags_SpanAllColumns)) {
      seek(replay, s.event + 1);
      ui.playing = false;
    }
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("keys %lld..%lld; click to go to this update (step %lld)",
                        static_cast<long long>(s.col0), static_cast<long long>(s.col0 + s.cols - 1),
                        static_cast<long long>(s.event + 1));
    ImGui::TableSetColumnIndex(1);
    ImGui::TextUnformatted(num(s.block_max, "%.3f").c_str());
    ImGui::TableSetColumnIndex(2);
    ImGui::Text("%s %s %s", num(s.m_old, "%.3f").c_str(), arrow, num(s.m_new, "%.3f").c_str());
    ImGui::TableSetColumnIndex(3);
    const bool rescaled = std::isfinite(s.m_old) && s.m_new > s.m_old;
    if (rescaled && s.done) ImGui::PushStyleColor(ImGuiCol_Text, col4(palette::kRead));
    ImGui::TextUnformatted(std::isinf(s.m_old) ? "0 (first)" : num(s.rescale, "%.3f").c_str());
    if (rescaled && s.done) ImGui::PopStyleColor();
    ImGui::TableSetColumnIndex(4);
    ImGui::Text("%s %s %s", num(s.l_old, "%.2f").c_str(), arrow, num(s.l_new, "%.2f").c_str());
    ImGui::TableSetColumnIndex(5);
    ImGui::Text("%lld", static_cast<long long>(s.event + 1));
    if (!s.done) ImGui::PopStyleColor();
    if (current) ImGui::SetScrollHereY(0.5f);
  }
  ImGui::EndTable();
}

}  // namespace

void draw_softmax(const Session& session, const SoftmaxPanelData& d, ReplayState& replay,
                  UiState& ui) {
  const int64_t seq_q = std::max<int64_t>(1, session.trace.shape.seq_q);
  const int64_t Br = std::max<int64_t>(1, session.trace.tiles.block_rows);
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("Query row");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 9);
  int row = int(d.row);
  if (ImGui::SliderInt("##row", &row, 0, int(seq_q - 1)))
    ui.softmax_row = row, ui.follow_row = false;
  ImGui::SameLine();
  ImGui::TextDisabled("in block i = %lld (rows %lld..%lld)", static_cast<long long>(d.row_block),
                      static_cast<long long>(d.row_block * Br),
                      static_cast<long long>(std::min(seq_q, (d.row_block + 1) * Br) - 1));
  ImGui::SameLine();
  ImGui::Checkbox("follow the current block", &ui.follow_row);
  if (d.online) {
    ImGui::SameLine();
    int64_t next = -1, previous = -1;
    for (const SoftmaxStep& s : d.steps) {
      if (s.event >= replay.step && next < 0) next = s.event;
      if (s.event < replay.step - 1) previous = s.event;
    }
    ImGui::BeginDisabled(previous < 0);
    if (ImGui::SmallButton("< update")) seek(replay, previous + 1), ui.playing = false;
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::BeginDisabled(next < 0);
    if (ImGui::SmallButton("update >")) seek(replay, next + 1), ui.playing = false;
    ImGui::EndDisabled();
  }
  dim_text_wrapped(d.explanation.c_str());

  // Charts beside the table where both fit, else stacked (at 1024x700 the panel is ~350 px).
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const SoftmaxLayout layout = d.online ? softmax_layout(avail.x, avail.y, step_columns(ui).total)
                                        : SoftmaxLayout{true, avail.x, avail.y};
  ImGui::BeginChild("##charts", {layout.charts_width, layout.charts_height}, false,
                    ImGuiWindowFlags_NoScrollbar);
  if (!d.has_values) {
    ImGui::TextWrapped(
        "No values in this run (counting only, or a saved trace): the table shows the order of "
        "the updates%s.",
        d.online ? " and the recorded statistics" : "");
  } else {
    const float text_h =
        2 * ImGui::GetTextLineHeightWithSpacing() + 2 * ImGui::GetStyle().ItemSpacing.y;
    const float chart_h = std::floor((ImGui::GetContentRegionAvail().y - text_h) * 0.5f);
    scores_chart(session, d, ui, {ImGui::GetContentRegionAvail().x, chart_h});
    if (d.finished) {
      result_chart(d, {ImGui::GetContentRegionAvail().x, chart_h});
      ImGui::Text("lse = m + log l: %s, reference %s", num(d.lse_result, "%.7f").c_str(),
                  num(d.lse_reference, "%.7f").c_str());
      ImGui::Text("max |p - p_ref| %.1e, max |O - O_ref| %.1e", d.p_max_abs_diff, d.o_max_abs_diff);
      if (ImGui::IsItemHovered())
        ImGui::SetTooltip(
            "p: the row's softmax; O: the row of the output (simulator in float,\n"
            "reference in double, same inputs, mask and dropout)");
    } else {
      ImGui::Dummy({1, 4});
      ImGui::TextWrapped(
          "The result appears after this row's last update (step %lld); %lld of %zu updates done.",
          static_cast<long long>(d.last_event + 1), static_cast<long long>(d.done_count),
          d.steps.size());
      if (d.online && std::isfinite(d.m_now))
        ImGui::Text("Running now: m = %s, l = %s", num(d.m_now).c_str(), num(d.l_now).c_str());
    }
  }
  ImGui::EndChild();
  if (!d.online) return;
  if (layout.side_by_side) ImGui::SameLine();
  ImGui::BeginChild("##table", {0, 0}, false);
  steps_table(d, replay, ui);
  ImGui::EndChild();
}

}  // namespace flashlab::viz::app
