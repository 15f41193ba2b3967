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

// The table's columns, in the order shown: the rescale factor right after j, so that it is the
// first to show whatever the width (the rest scroll sideways when they do not fit).
enum class Column { J, Rescale, M, L, MaxS, Step };
constexpr Column kColumns[] = {Column::J, Column::Rescale, Column::M,
                               Column::L, Column::MaxS,    Column::Step};

// What a cell shows (j's cell is also the row's selectable).
std::string cell_text(Column column, const SoftmaxStep& s, const char* arrow) {
  switch (column) {
    case Column::J:
      return std::to_string(s.j);
    case Column::Rescale:
      return std::isinf(s.m_old) ? "0 (first)" : num(s.rescale, "%.3f");
    case Column::M:
      return num(s.m_old, "%.3f") + " " + arrow + " " + num(s.m_new, "%.3f");
    case Column::L:
      return num(s.l_old, "%.2f") + " " + arrow + " " + num(s.l_new, "%.2f");
    case Column::MaxS:
      return num(s.block_max, "%.3f");
    case Column::Step:
      return std::to_string(s.event + 1);
  }
  return "";
}

// The headers, and the widths the columns need for their widest cell (over this row's updates)
// or header, with their sum: below it the table scrolls sideways rather than cut a column off.
struct StepColumns {
  std::string heads[6];
  float widths[6] = {};
  float total = 0;
  float essential = 0;  // j, rescale, m and l: what the panel is for
};

StepColumns step_columns(const SoftmaxPanelData& d, const UiState& ui) {
  StepColumns c;
  const char* arrow = sym(ui, Sym::Arrow);
  const std::string heads[6] = {"j",
                                "rescale",
                                std::string("m: old ") + arrow + " new",
                                std::string("l: old ") + arrow + " new",
                                "max s",
                                "step"};
  const float pad = 2 * ImGui::GetStyle().CellPadding.x + ImGui::GetStyle().ItemSpacing.x;
  for (int k = 0; k < 6; ++k) {
    c.heads[k] = heads[k];
    float widest = ImGui::CalcTextSize(heads[k].c_str()).x;
    for (const SoftmaxStep& s : d.steps)
      widest = std::max(widest, ImGui::CalcTextSize(cell_text(kColumns[k], s, arrow).c_str()).x);
    c.widths[k] = widest + pad;
    c.total += c.widths[k];
    if (k < 4) c.essential += c.widths[k];
  }
  c.total += ImGui::GetStyle().ScrollbarSize;
  c.essential += ImGui::GetStyle().ScrollbarSize;
  return c;
}

void step_cell(Column column, const SoftmaxStep& s, size_t k, ReplayState& replay, UiState& ui) {
  const std::string text = cell_text(column, s, sym(ui, Sym::Arrow));
  if (column == Column::J) {
    if (ImGui::Selectable((text + "##" + std::to_string(k)).c_str(), false,
                          ImGuiSelectableFlags_SpanAllColumns)) {
      seek(replay, s.event + 1);
      ui.playing = false;
    }
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("keys %lld..%lld; click to go to this update (step %lld)",
                        static_cast<long long>(s.col0), static_cast<long long>(s.col0 + s.cols - 1),
                        static_cast<long long>(s.event + 1));
    return;
  }
  // A rescale that happened (the running max moved) stands out.
  const bool rescaled =
      column == Column::Rescale && s.done && std::isfinite(s.m_old) && s.m_new > s.m_old;
  if (rescaled) ImGui::PushStyleColor(ImGuiCol_Text, col4(palette::kRead));
  ImGui::TextUnformatted(text.c_str());
  if (rescaled) ImGui::PopStyleColor();
}

void steps_table(const SoftmaxPanelData& d, ReplayState& replay, UiState& ui) {
  const StepColumns cols = step_columns(d, ui);
  // Wide enough: columns share the width; else fixed widths and a horizontal scrollbar.
  const bool fits = ImGui::GetContentRegionAvail().x >= cols.total;
  const ImGuiTableFlags flags =
      ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY | ImGuiTableFlags_BordersInnerH |
      (fits ? ImGuiTableFlags_SizingStretchProp : ImGuiTableFlags_ScrollX);
  if (!ImGui::BeginTable("##steps", 6, flags, ImGui::GetContentRegionAvail())) return;
  ImGui::TableSetupScrollFreeze(1, 1);  // j stays when the table scrolls sideways
  for (int k = 0; k < 6; ++k)
    ImGui::TableSetupColumn(
        cols.heads[k].c_str(),
        fits ? ImGuiTableColumnFlags_WidthStretch : ImGuiTableColumnFlags_WidthFixed,
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
    for (int c = 0; c < 6; ++c) {
      ImGui::TableSetColumnIndex(c);
      step_cell(kColumns[c], s, k, replay, ui);
    }
    if (!s.done) ImGui::PopStyleColor();
    if (current) ImGui::SetScrollHereY(0.5f);
  }
  ImGui::EndTable();
}

// The scores of the row and, once it is final, its softmax beside the reference.
void draw_charts(const Session& session, const SoftmaxPanelData& d, UiState& ui,
                 const SoftmaxLayout& layout) {
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
}

}  // namespace

void draw_softmax(const Session& session, const SoftmaxPanelData& d, ReplayState& replay,
                  UiState& ui) {
  const int64_t seq_q = std::max<int64_t>(1, session.trace.shape.seq_q);
  const int64_t Br = std::max<int64_t>(1, session.trace.tiles.block_rows);
  // Charts beside the table where both fit, else stacked (at 1024x700 the panel is ~350 px
  // wide): then the header takes two short lines, the explanation moves into a tooltip, and the
  // charts give way to the table when the panel is too short for both.
  const float table_width = step_columns(d, ui).essential;
  const ImVec2 panel = ImGui::GetContentRegionAvail();
  const bool wide = !d.online || softmax_layout(panel.x, panel.y, table_width).side_by_side;
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("Query row");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 9);
  int row = int(d.row);
  if (ImGui::SliderInt("##row", &row, 0, int(seq_q - 1)))
    ui.softmax_row = row, ui.follow_row = false;
  char block[96];
  std::snprintf(block, sizeof block, "in block i = %lld (rows %lld..%lld)",
                static_cast<long long>(d.row_block), static_cast<long long>(d.row_block * Br),
                static_cast<long long>(std::min(seq_q, (d.row_block + 1) * Br) - 1));
  if (wide) {
    ImGui::SameLine();
    ImGui::TextDisabled("%s", block);
  } else {
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", block);
    ImGui::SameLine();
    ImGui::TextDisabled("(?)");
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", d.explanation.c_str());
  }
  if (wide) ImGui::SameLine();
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
  if (wide) dim_text_wrapped(d.explanation.c_str());
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const SoftmaxLayout layout = d.online ? softmax_layout(avail.x, avail.y, table_width)
                                        : SoftmaxLayout{true, avail.x, avail.y};
  if (layout.charts_height > 0) draw_charts(session, d, ui, layout);
  if (!d.online) return;
  if (layout.side_by_side) ImGui::SameLine();
  ImGui::BeginChild("##table", {0, 0}, false);
  steps_table(d, replay, ui);
  ImGui::EndChild();
}

}  // namespace flashlab::viz::app
