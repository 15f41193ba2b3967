// The SRAM view: a capacity bar split into the tiles resident now (coloured by tensor, the peak
// marked), and the list of those tiles with their shapes and sizes.
#include <imgui.h>

#include <algorithm>

#include "app.hpp"
#include "theme.hpp"

namespace flashlab::viz::app {

void draw_sram(const SramViewData& d, UiState& ui) {
  const double capacity = double(std::max<int64_t>(1, d.capacity_bytes));
  ImGui::Text("%s of %s in use (%.0f%%)", format_bytes(d.used_bytes).c_str(),
              format_bytes(d.capacity_bytes).c_str(), 100.0 * double(d.used_bytes) / capacity);
  ImGui::TextDisabled("peak %s so far, %s over the pass", format_bytes(d.peak_so_far).c_str(),
                      format_bytes(d.peak_bytes).c_str());

  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  const float w = ImGui::GetContentRegionAvail().x, h = 24.0f;
  dl->AddRectFilled(p, {p.x + w, p.y + h}, col(palette::kCellEmpty), 3.0f);
  float x = p.x;
  ImGui::PushFont(ui.small ? ui.small : ImGui::GetFont());
  for (const SramTileView& t : d.tiles) {
    const float tw = float(double(t.bytes) / capacity) * w;
    const ImVec2 a{x, p.y}, b{std::min(p.x + w, x + tw), p.y + h};
    dl->AddRectFilled(a, b, col(palette::tensor_color(t.tensor), t.just_loaded ? 255 : 200));
    if (b.x - a.x >= 3) dl->AddLine({b.x - 1, a.y}, {b.x - 1, b.y}, col(palette::kPanel), 1.0f);
    if (t.just_loaded) dl->AddRect(a, b, col(palette::kRead), 0.0f, 0, 2.0f);
    const ImVec2 ts = ImGui::CalcTextSize(t.name.c_str());
    if (ts.x + 6 < b.x - a.x)
      dl->AddText({a.x + 3, a.y + (h - ts.y) * 0.5f}, IM_COL32(15, 17, 22, 255), t.name.c_str());
    x += tw;
  }
  ImGui::PopFont();
  const float peak_x = p.x + float(double(d.peak_bytes) / capacity) * w;
  dl->AddLine({peak_x, p.y - 3}, {peak_x, p.y + h + 3}, IM_COL32(255, 255, 255, 200), 2.0f);
  dl->AddRect(p, {p.x + w, p.y + h}, col({70, 76, 96}), 3.0f);
  ImGui::Dummy({w, h + 4});

  if (d.tiles.empty()) {
    ImGui::TextDisabled("SRAM is empty.");
    return;
  }
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY |
                                ImGuiTableFlags_SizingStretchProp | ImGuiTableFlags_BordersInnerH;
  if (!ImGui::BeginTable("##resident", 3, flags, ImGui::GetContentRegionAvail())) return;
  ImGui::TableSetupScrollFreeze(0, 1);
  ImGui::TableSetupColumn("tile (tensor)", ImGuiTableColumnFlags_WidthStretch, 2.2f);
  ImGui::TableSetupColumn("rows x cols", ImGuiTableColumnFlags_WidthStretch, 1.3f);
  ImGui::TableSetupColumn("bytes", ImGuiTableColumnFlags_WidthStretch, 1.0f);
  ImGui::TableHeadersRow();
  for (const SramTileView& t : d.tiles) {
    ImGui::TableNextRow();
    if (t.just_loaded) ImGui::TableSetBgColor(ImGuiTableBgTarget_RowBg1, col(palette::kRead, 45));
    ImGui::TableSetColumnIndex(0);
    const float s = ImGui::GetTextLineHeight() * 0.7f;
    const ImVec2 q = ImGui::GetCursorScreenPos();
    const float pad = (ImGui::GetTextLineHeight() - s) * 0.5f;
    ImGui::GetWindowDrawList()->AddRectFilled({q.x, q.y + pad}, {q.x + s, q.y + pad + s},
                                              col(palette::tensor_color(t.tensor)), 2.0f);
    ImGui::Dummy({s, s});
    ImGui::SameLine();
    if (t.tensor == TensorId::None)
      ImGui::TextUnformatted(t.name.c_str());
    else
      ImGui::Text("%s (%s)", t.name.c_str(), simulator::tensor_name(t.tensor));
    ImGui::TableSetColumnIndex(1);
    ImGui::Text("%lld %s %lld", static_cast<long long>(t.rect.rows), sym(ui, Sym::Times),
                static_cast<long long>(t.rect.cols));
    ImGui::TableSetColumnIndex(2);
    ImGui::TextUnformatted(format_bytes(t.bytes).c_str());
  }
  ImGui::EndTable();
}

}  // namespace flashlab::viz::app
