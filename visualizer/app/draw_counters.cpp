// The counters panel: HBM bytes by tensor so far and over the pass (with the closed form per
// tensor), the pass against the baseline algorithm and the formula, FLOPs, the roofline
// prediction, and the cumulative bytes of both algorithms over the pass.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <flashlab/viz/layout.hpp>

#include "app.hpp"
#include "theme.hpp"

namespace flashlab::viz::app {

namespace {

std::string sci(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, x >= 1e4 ? "%.3g" : "%.0f", x);
  return buf;
}

std::string seconds(double s) {
  char buf[32];
  if (s < 1e-3)
    std::snprintf(buf, sizeof buf, "%.3g us", s * 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.3g ms", s * 1e3);
  return buf;
}

// One byte bar: its label, the bar on a track, its number after the track (bar_geometry), so a
// long bar never runs under its number. `text_width` is the widest number of the panel's bars.
void bar(const char* label, double value, double so_far, double scale, palette::Rgb color,
         const std::string& text, float text_width) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  ImGui::TextUnformatted(label);
  ImGui::SameLine(ImGui::GetFontSize() * 6.5f);
  const ImVec2 a = ImGui::GetCursorScreenPos();
  const float h = ImGui::GetTextLineHeight();
  const BarGeometry g =
      bar_geometry(ImGui::GetContentRegionAvail().x, text_width, value, so_far, scale);
  dl->AddRectFilled(a, {a.x + g.track, a.y + h}, col(palette::kCellEmpty), 2.0f);
  dl->AddRectFilled(a, {a.x + g.full, a.y + h}, col(color, 90), 2.0f);
  if (g.done > 0) dl->AddRectFilled(a, {a.x + g.done, a.y + h}, col(color, 230), 2.0f);
  ImGui::Dummy({g.track, h});
  if (g.text_below) {
    ImGui::TextUnformatted(text.c_str());
  } else {
    ImGui::SameLine(0, 0);
    ImGui::SetCursorScreenPos({a.x + g.text_x, a.y});
    ImGui::TextUnformatted(text.c_str());
  }
}

void curves(const CountersData& d, ImVec2 size) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 a = ImGui::GetCursorScreenPos(), b{a.x + size.x, a.y + size.y};
  ImGui::Dummy(size);
  dl->AddRectFilled(a, b, col(palette::kBackground), 3.0f);
  double hi = d.curve ? double(d.curve->total_bytes) : 1;
  if (d.baseline_curve) hi = std::max(hi, double(d.baseline_curve->total_bytes));
  hi = std::max(hi, 1.0);
  const float left = a.x + 8, right = b.x - 8, top = a.y + 22, bottom = b.y - 18;
  auto pt = [&](float f, double bytes) {
    return ImVec2{left + f * (right - left), bottom - float(bytes / hi) * (bottom - top)};
  };
  for (int k = 1; k <= 3; ++k) {
    const float y = bottom - float(k) / 4.0f * (bottom - top);
    dl->AddLine({left, y}, {right, y}, IM_COL32(255, 255, 255, 18));
  }
  auto polyline = [&](const ByteCurve& c, ImU32 color, float thickness) {
    std::vector<ImVec2> pts;
    pts.reserve(c.progress.size());
    for (size_t k = 0; k < c.progress.size(); ++k) pts.push_back(pt(c.progress[k], c.bytes[k]));
    dl->AddPolyline(pts.data(), int(pts.size()), color, 0, thickness);
  };
  if (d.baseline_curve) polyline(*d.baseline_curve, col(palette::kBaseline, 220), 2.0f);
  if (d.curve) polyline(*d.curve, col(palette::kWrite), 2.5f);
  const float x = left + float(d.progress) * (right - left);
  dl->AddLine({x, top - 4}, {x, bottom}, IM_COL32(255, 255, 255, 160), 1.0f);
  const ImVec2 now = pt(float(d.progress), double(d.bytes_read + d.bytes_written));
  dl->AddCircleFilled(now, 4.0f, col(palette::kWrite));
  dl->AddText(
      {a.x + 6, a.y + 3}, col(palette::kTextDim),
      ("cumulative HBM bytes over the pass (max " + format_bytes(int64_t(hi)) + ")").c_str());
  dl->AddText({left, bottom + 2}, col(palette::kTextDim), "0%");
  dl->AddText({right - ImGui::CalcTextSize("100% of steps").x, bottom + 2}, col(palette::kTextDim),
              "100% of steps");
  // Legend, top right.
  float lx = right;
  auto key = [&](const std::string& text, ImU32 color) {
    const float tw = ImGui::CalcTextSize(text.c_str()).x;
    lx -= tw;
    dl->AddText({lx, top}, color, text.c_str());
    lx -= 16;
  };
  if (d.baseline_curve) key(d.baseline_curve->label, col(palette::kBaseline));
  if (d.curve) key("this run", col(palette::kWrite));
}

}  // namespace

namespace {

// Parallelism on the last GPU of the list (the H200): per launch, how many work units the grid
// has against the SMs' slots, and how busy the SMs are over the launch (the bar). FA1's one unit
// per head leaves most SMs idle on a few heads; FA2's units per query block fill them.
void waves_bars(const RuntimeRow& r) {
  for (const simulator::LaunchPrediction& l : r.prediction.launches) {
    char label[160];
    std::snprintf(label, sizeof label, "%s: %lld units, %lld per SM, %.2f waves, SMs busy %.0f%%",
                  l.name.c_str(), static_cast<long long>(l.units),
                  static_cast<long long>(l.units_per_sm), l.waves, 100.0 * l.sm_busy);
    ImGui::ProgressBar(float(l.sm_busy), ImVec2(-1, 0), label);
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("%s on %s: compute %s, L2 %s, DRAM %s, launch %s -> %s (%s)",
                        l.name.c_str(), r.gpu.c_str(), seconds(l.compute_s).c_str(),
                        seconds(l.l2_s).c_str(), seconds(l.dram_s).c_str(),
                        seconds(l.launch_s).c_str(), seconds(l.predicted_s).c_str(),
                        simulator::to_string(l.bound));
  }
}

}  // namespace

void draw_counters(const CountersData& d, UiState& ui) {
  const ImGuiTableFlags flags =
      ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_SizingStretchProp;
  if (ImGui::BeginTable("##traffic", 4, flags)) {
    ImGui::TableSetupColumn("tensor", ImGuiTableColumnFlags_WidthStretch, 1.0f);
    ImGui::TableSetupColumn("read so far", ImGuiTableColumnFlags_WidthStretch, 1.4f);
    ImGui::TableSetupColumn("written so far", ImGuiTableColumnFlags_WidthStretch, 1.4f);
    ImGui::TableSetupColumn("whole pass", ImGuiTableColumnFlags_WidthStretch, 1.4f);
    ImGui::TableHeadersRow();
    for (const TensorCounter& t : d.tensors) {
      ImGui::TableNextRow();
      ImGui::TableSetColumnIndex(0);
      ImGui::TextColored(col4(palette::tensor_color(t.tensor)), "%s",
                         simulator::tensor_name(t.tensor));
      if (ImGui::IsItemHovered() && (!t.formula_reads.empty() || !t.formula_writes.empty()))
        ImGui::SetTooltip("closed form per head, in elements:\nreads  %s\nwrites %s",
                          t.formula_reads.empty() ? "0" : t.formula_reads.c_str(),
                          t.formula_writes.empty() ? "0" : t.formula_writes.c_str());
      ImGui::TableSetColumnIndex(1);
      ImGui::TextUnformatted(format_bytes(t.bytes_read).c_str());
      ImGui::TableSetColumnIndex(2);
      ImGui::TextUnformatted(format_bytes(t.bytes_written).c_str());
      ImGui::TableSetColumnIndex(3);
      ImGui::TextDisabled("%s", format_bytes(t.final_read + t.final_written).c_str());
    }
    ImGui::EndTable();
  }
  ImGui::Text("so far %s read + %s written", format_bytes(d.bytes_read).c_str(),
              format_bytes(d.bytes_written).c_str());

  ImGui::Spacing();
  double scale = double(d.final_bytes);
  if (d.baseline_bytes) scale = std::max(scale, double(*d.baseline_bytes));
  if (d.formula_bytes) scale = std::max(scale, double(*d.formula_bytes));
  scale = std::max(scale, 1.0);
  // The numbers first: the bars share a track that ends before the widest of them.
  const std::string pass_text =
      format_bytes(d.bytes_read + d.bytes_written) + " of " + format_bytes(d.final_bytes);
  std::string baseline_text, formula_text;
  if (d.baseline_bytes) {
    const double ratio = double(*d.baseline_bytes) / std::max(1.0, double(d.final_bytes));
    char text[160];
    std::snprintf(text, sizeof text, "%s (%.2f%s)", format_bytes(*d.baseline_bytes).c_str(), ratio,
                  sym(ui, Sym::Times));
    baseline_text = text;
  }
  if (d.formula_bytes)
    formula_text = format_bytes(*d.formula_bytes) +
                   (*d.formula_bytes == d.final_bytes ? " = counted" : " (differs!)");
  float text_width = 0;
  for (const std::string& t : {pass_text, baseline_text, formula_text})
    text_width = std::max(text_width, ImGui::CalcTextSize(t.c_str()).x);
  bar("this pass", double(d.final_bytes), double(d.bytes_read + d.bytes_written), scale,
      palette::kWrite, pass_text, text_width);
  if (d.baseline_bytes) {
    bar("baseline", double(*d.baseline_bytes), 0, scale, palette::kBaseline, baseline_text,
        text_width);
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("%s, same problem and tiles rule; the ratio is to this pass",
                        d.baseline_label.c_str());
  } else if (!d.baseline_note.empty()) {
    dim_text_wrapped(d.baseline_note.c_str());
  }
  if (d.formula_bytes) {
    bar("closed form", double(*d.formula_bytes), 0, scale, palette::kAccent, formula_text,
        text_width);
    if (!d.theta.empty()) ImGui::TextDisabled("paper's bound: %s", d.theta.c_str());
  } else if (!d.formula_note.empty()) {
    dim_text_wrapped(("closed form: " + d.formula_note).c_str());
  }

  ImGui::Spacing();
  const simulator::IoStats& st = d.final_stats;
  ImGui::Text("FLOPs %s of %s, exp %s of %s", sci(double(d.flops)).c_str(),
              sci(double(st.matmul_flops + st.other_flops)).c_str(), sci(double(d.exps)).c_str(),
              sci(double(st.exp_ops)).c_str());
  if (d.flops_split)
    ImGui::TextDisabled("  of which matmul %s, other %s", sci(double(st.matmul_flops)).c_str(),
                        sci(double(st.other_flops)).c_str());
  if (st.random_draws > 0) {
    ImGui::Text("dropout draws %s of %s", sci(double(d.draws)).c_str(),
                sci(double(st.random_draws)).c_str());
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip(
          "Philox calls that decide dropout's mask, one per row and eight columns of a tile\n"
          "(core/dropout.hpp); on an H200 they take longer than the exponentials\n"
          "(docs/simulator.md)");
  }
  if (!d.runtime.empty()) {
    std::string line = "predicted:";
    for (const RuntimeRow& r : d.runtime)
      line += " " + r.gpu.substr(0, r.gpu.find('-')) + " " + seconds(r.prediction.predicted_s) +
              " (" + simulator::to_string(r.prediction.bound) + "),";
    line.pop_back();
    ImGui::TextWrapped("%s", line.c_str());
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip(
          "the performance model: units spread over the SMs, compute at the measured rates,\n"
          "L2 and DRAM traffic, a launch cost (docs/simulator.md; flashlab compare --why)");
    waves_bars(d.runtime.back());
  }
  ImGui::Spacing();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  if (avail.y > 60) curves(d, {avail.x, avail.y - 2});
}

}  // namespace flashlab::viz::app
