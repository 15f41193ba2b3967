// The HBM view: every tensor as a grid of tiles, laid out like the paper's Figure 1 -- Q-like
// tensors left of the score matrices (rows aligned), K-like ones transposed above them (columns
// aligned). Fill = heat map of transfers so far; the tiles moving now lit by direction; tiles
// resident in SRAM outlined; skipped blocks hatched. Plain ImDrawList rectangles, with runs of
// equal cells merged when cells are smaller than a few pixels.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "app.hpp"
#include "theme.hpp"

namespace flashlab::viz::app {

namespace {

using palette::Rgb;

struct Placement {
  ImVec2 origin;        // top-left of the grid
  float u = 1;          // pixels per row / key column
  float thickness = 0;  // pixels across d (matrices) or the vector width
};

// The pixel rectangle of cells [r0..r1] x [c0..c1] of grid g.
void cell_rect(const TensorGrid& g, const Placement& p, const CellRange& c, ImVec2& a, ImVec2& b) {
  auto along = [&](int64_t cell, int64_t cell_size, int64_t total) {
    return p.u * float(std::min(total, cell * cell_size));
  };
  const float r0 = along(c.row_first, g.cell_rows, g.rows);
  const float r1 = along(c.row_last + 1, g.cell_rows, g.rows);
  switch (g.role) {
    case GridRole::QueryMatrix:
    case GridRole::QueryVector:
      a = {p.origin.x, p.origin.y + r0};
      b = {p.origin.x + p.thickness, p.origin.y + r1};
      break;
    case GridRole::KeyMatrix:  // transposed: rows run left to right
      a = {p.origin.x + r0, p.origin.y};
      b = {p.origin.x + r1, p.origin.y + p.thickness};
      break;
    case GridRole::Scores:
      a = {p.origin.x + along(c.col_first, g.cell_cols, g.cols), p.origin.y + r0};
      b = {p.origin.x + along(c.col_last + 1, g.cell_cols, g.cols), p.origin.y + r1};
      break;
  }
  a = {std::floor(a.x), std::floor(a.y)};
  b = {std::max(a.x + 1, std::floor(b.x)), std::max(a.y + 1, std::floor(b.y))};
}

ImVec2 grid_size(const TensorGrid& g, const Placement& p) {
  ImVec2 a, b;
  cell_rect(g, p, {0, g.grid_rows - 1, 0, g.grid_cols - 1}, a, b);
  return {b.x - a.x, b.y - a.y};
}

const char* grid_label(const TensorGrid& g) {
  if (g.on_chip_only) return "S blocks";
  switch (g.tensor) {
    case TensorId::K:
      return "K^T";
    case TensorId::V:
      return "V^T";
    case TensorId::dK:
      return "dK^T";
    case TensorId::dV:
      return "dV^T";
    default:
      return simulator::tensor_name(g.tensor);
  }
}

void hatch(ImDrawList* dl, ImVec2 a, ImVec2 b, ImU32 color) {
  dl->PushClipRect(a, b, true);
  const float step = 5.0f, h = b.y - a.y;
  for (float x = a.x - h; x < b.x; x += step) dl->AddLine({x, b.y}, {x + h, a.y}, color, 1.0f);
  dl->PopClipRect();
}

// Cells: heat (HBM tensors) or computed / not yet (on-chip S), skipped hatched.
void draw_cells(ImDrawList* dl, const GridView& v, const Placement& p, int32_t max_heat) {
  const TensorGrid& g = *v.grid;
  ImVec2 a, b;
  cell_rect(g, p, {0, g.grid_rows - 1, 0, g.grid_cols - 1}, a, b);
  dl->AddRectFilled(a, b, col(palette::kCellEmpty));
  ImVec2 ca, cb;
  cell_rect(g, p, {0, 0, 0, 0}, ca, cb);
  const bool gaps = cb.x - ca.x >= 5 && cb.y - ca.y >= 5;
  const ImU32 empty = col(palette::kCellEmpty);
  auto color_of = [&](int64_t k) -> ImU32 {
    if (!v.skipped.empty() && v.skipped[size_t(k)]) return col(palette::kSkipped);
    const int32_t heat = v.reads[size_t(k)] + v.writes[size_t(k)];
    if (heat <= 0) return empty;
    if (g.on_chip_only) return col(palette::kComputed);
    return col(palette::heat(double(heat) / double(std::max(1, max_heat))));
  };
  for (int64_t r = 0; r < g.grid_rows; ++r) {
    for (int64_t c = 0; c < g.grid_cols;) {
      const ImU32 color = color_of(g.cell_index(r, c));
      int64_t end = c + 1;  // merge a run of equal cells when there are no gaps to draw
      if (!gaps)
        while (end < g.grid_cols && color_of(g.cell_index(r, end)) == color) ++end;
      if (color != empty || gaps) {
        cell_rect(g, p, {r, r, c, end - 1}, ca, cb);
        if (gaps) cb = {cb.x - 1, cb.y - 1};
        dl->AddRectFilled(ca, cb, color == empty ? IM_COL32(44, 50, 66, 255) : color);
        if (gaps && !v.skipped.empty() && v.skipped[size_t(g.cell_index(r, c))])
          hatch(dl, ca, cb, col(palette::kSkippedHatch));
      }
      c = end;
    }
  }
}

struct Layout {
  std::vector<Placement> at;  // per grid
  ImVec2 size;
};

Layout layout(const Session& s, ImVec2 avail, float label_h) {
  const auto& grids = s.grids;
  const float gap = 10.0f, vector_w = 12.0f;
  const float seq_q = float(std::max<int64_t>(1, s.trace.shape.seq_q));
  const float seq_k = float(std::max<int64_t>(1, s.trace.shape.seq_k));
  const float d = float(std::max<int64_t>(1, s.trace.shape.head_dim));
  int squares = 0, matrices = 0, vectors = 0, keys = 0;
  for (const TensorGrid& g : grids) {
    squares += g.role == GridRole::Scores;
    matrices += g.role == GridRole::QueryMatrix;
    vectors += g.role == GridRole::QueryVector;
    keys += g.role == GridRole::KeyMatrix;
  }
  const float n_sq = float(std::max(1, squares));
  float thick = 40.0f, u = 1.0f;
  for (int iter = 0; iter < 3; ++iter) {
    const float left_w = float(matrices) * (thick + gap) + float(vectors) * (vector_w + gap);
    const float top_h = float(keys) * (thick + 6.0f) + (keys > 0 ? gap - 6.0f : 0.0f);
    u = std::min((avail.x - left_w - (n_sq - 1) * gap - 2) / (n_sq * seq_k),
                 (avail.y - top_h - label_h - 2) / seq_q);
    u = std::max(u, 0.05f);
    thick = std::clamp(d * u, 14.0f, 44.0f);
  }
  const float left_w = float(matrices) * (thick + gap) + float(vectors) * (vector_w + gap);
  const float top_h = float(keys) * (thick + 6.0f) + (keys > 0 ? gap - 6.0f : 0.0f);
  Layout L;
  L.at.resize(grids.size());
  float x_left = 0, y_top = 0, x_sq = left_w;
  for (size_t k = 0; k < grids.size(); ++k) {
    Placement& p = L.at[k];
    p.u = u;
    switch (grids[k].role) {
      case GridRole::QueryMatrix:
      case GridRole::QueryVector:
        p.thickness = grids[k].role == GridRole::QueryMatrix ? thick : vector_w;
        p.origin = {x_left, top_h};
        x_left += p.thickness + gap;
        break;
      case GridRole::KeyMatrix:
        p.thickness = thick;
        p.origin = {left_w, y_top};
        y_top += thick + 6.0f;
        break;
      case GridRole::Scores:
        p.origin = {x_sq, top_h};
        x_sq += seq_k * u + gap;
        break;
    }
  }
  L.size = {left_w + n_sq * seq_k * u + (n_sq - 1) * gap, top_h + seq_q * u + label_h};
  return L;
}

struct LegendItem {
  ImU32 fill, outline;
  std::string text;
  bool hatched = false, ramp = false;
};

std::vector<LegendItem> legend_items(int32_t max_heat) {
  return {{col(palette::kRead), 0, "read HBM to SRAM"},
          {col(palette::kWrite), 0, "write SRAM to HBM"},
          {col(palette::kCellEmpty), col(palette::kResident), "in SRAM now"},
          {col(palette::kCompute), 0, "computing"},
          {col(palette::kComputed), 0, "computed on chip"},
          {col(palette::kSkipped), 0, "skipped (mask)", true},
          {0, 0, "0.." + std::to_string(max_heat) + " transfers per tile", false, true}};
}

float swatch_width(const LegendItem& item) {
  const float h = ImGui::GetTextLineHeight();
  return item.ramp ? 90.0f : h * 1.4f;
}

float item_width(const LegendItem& item) {
  return swatch_width(item) + 4 + ImGui::CalcTextSize(item.text.c_str()).x + 14;
}

int legend_lines(const std::vector<LegendItem>& items, float width) {
  int lines = 1;
  float x = 0;
  for (const LegendItem& it : items) {
    const float w = item_width(it);
    if (x > 0 && x + w > width) ++lines, x = 0;
    x += w;
  }
  return lines;
}

// The legend as a flow of swatches and labels, wrapping to the panel's width.
void draw_legend(ImDrawList* dl, const std::vector<LegendItem>& items, ImVec2 origin, float width) {
  const float h = ImGui::GetTextLineHeight() - 2, line = ImGui::GetTextLineHeightWithSpacing();
  float x = 0, y = 0;
  for (const LegendItem& it : items) {
    const float w = item_width(it);
    if (x > 0 && x + w > width) x = 0, y += line;
    const ImVec2 a{origin.x + x, origin.y + y + 1}, b{a.x + swatch_width(it), a.y + h};
    if (it.ramp) {
      for (int k = 0; k < 30; ++k) {
        const float x0 = a.x + (b.x - a.x) * float(k) / 30.0f,
                    x1 = a.x + (b.x - a.x) * float(k + 1) / 30.0f;
        dl->AddRectFilled({x0, a.y}, {x1 + 0.5f, b.y}, col(palette::heat((k + 0.5) / 30.0)));
      }
    } else {
      dl->AddRectFilled(a, b, it.fill);
      if (it.hatched) hatch(dl, a, b, col(palette::kSkippedHatch));
      if (it.outline != 0) dl->AddRect(a, b, it.outline, 0.0f, 0, 2.0f);
    }
    dl->AddText({b.x + 4, origin.y + y}, col(palette::kText), it.text.c_str());
    x += w;
  }
}

}  // namespace

void draw_hbm(const Session& session, const HbmViewData& data, UiState& ui) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  ImFont* small = ui.small ? ui.small : ImGui::GetFont();
  const float label_h = small->FontSize + 6;
  ImVec2 avail = ImGui::GetContentRegionAvail();
  const std::vector<LegendItem> legend = legend_items(data.max_heat);
  const float legend_h =
      float(legend_lines(legend, avail.x)) * ImGui::GetTextLineHeightWithSpacing() + 4;
  avail.y -= legend_h;
  const Layout L = layout(session, avail, label_h);
  // Centre the figure horizontally in the panel.
  const ImVec2 base = ImGui::GetCursorScreenPos();
  const ImVec2 origin{std::floor(base.x + std::max(0.0f, (avail.x - L.size.x) * 0.5f)),
                      std::floor(base.y)};
  std::vector<Placement> at = L.at;
  for (Placement& p : at) p.origin = {origin.x + p.origin.x, origin.y + p.origin.y};

  for (size_t k = 0; k < data.grids.size(); ++k)
    draw_cells(dl, data.grids[k], at[k], data.max_heat);

  // Resident tiles: outlined where they came from (or where they will be written).
  for (const ResidentOutline& r : data.resident) {
    ImVec2 a, b;
    cell_rect(session.grids[size_t(r.grid)], at[size_t(r.grid)], r.cells, a, b);
    dl->AddRect({a.x - 1, a.y - 1}, {b.x + 1, b.y + 1}, col(palette::kResident, 230), 0.0f, 0,
                2.0f);
  }
  // Movements, oldest first so the current one is on top. The current fill is the exact
  // palette colour (the screenshot test looks for it); its frame is drawn outside the cells.
  constexpr int kAlpha[kTrailLength] = {255, 170, 125, 95, 70, 50};
  for (auto it = data.highlights.rbegin(); it != data.highlights.rend(); ++it) {
    const Highlight& h = *it;
    const Rgb c = h.kind == EffectKind::Read    ? palette::kRead
                  : h.kind == EffectKind::Write ? palette::kWrite
                  : h.kind == EffectKind::Skip  ? palette::kSkippedHatch
                                                : palette::kCompute;
    ImVec2 a, b;
    cell_rect(session.grids[size_t(h.grid)], at[size_t(h.grid)], h.cells, a, b);
    dl->AddRectFilled(a, b, col(c, kAlpha[std::clamp(h.age, 0, kTrailLength - 1)]));
    if (h.age == 0)
      dl->AddRect({a.x - 2, a.y - 2}, {b.x + 2, b.y + 2}, IM_COL32(255, 255, 255, 220), 0.0f, 0,
                  2.0f);
  }

  // Labels under each grid (left of the transposed ones) and a tooltip for the hovered tile.
  ImGui::PushFont(small);
  const ImU32 text = col(palette::kText), dim = col(palette::kTextDim);
  for (size_t k = 0; k < session.grids.size(); ++k) {
    const TensorGrid& g = session.grids[k];
    const ImVec2 size = grid_size(g, at[k]);
    const char* name = grid_label(g);
    const ImVec2 ts = ImGui::CalcTextSize(name);
    if (g.role == GridRole::KeyMatrix) {
      dl->AddText({at[k].origin.x - ts.x - 6, at[k].origin.y + (size.y - ts.y) * 0.5f}, text, name);
    } else {
      char info[96] = "";
      if (g.role == GridRole::Scores && g.on_chip_only)
        std::snprintf(info, sizeof info, " = %s QK^T, on chip only (never in HBM)",
                      sym(ui, Sym::Tau));
      else if (g.role == GridRole::Scores)
        std::snprintf(info, sizeof info, "  %lld %s %lld in HBM", static_cast<long long>(g.rows),
                      sym(ui, Sym::Times), static_cast<long long>(g.cols));
      // Centred under the grid; the detail only when it fits.
      float w = ts.x + ImGui::CalcTextSize(info).x;
      if (w > size.x + 8) info[0] = 0, w = ts.x;
      const float x = at[k].origin.x + std::max(0.0f, (size.x - w) * 0.5f);
      dl->AddText({x, at[k].origin.y + size.y + 3}, text, name);
      dl->AddText({x + ts.x, at[k].origin.y + size.y + 3}, dim, info);
    }
  }
  ImGui::PopFont();

  const ImVec2 mouse = ImGui::GetIO().MousePos;
  if (ImGui::IsWindowHovered()) {
    for (size_t k = 0; k < session.grids.size(); ++k) {
      const TensorGrid& g = session.grids[k];
      const ImVec2 size = grid_size(g, at[k]);
      const ImVec2 o = at[k].origin;
      if (mouse.x < o.x || mouse.y < o.y || mouse.x >= o.x + size.x || mouse.y >= o.y + size.y)
        continue;
      const bool transposed = g.role == GridRole::KeyMatrix;
      const float along = (transposed ? mouse.x - o.x : mouse.y - o.y) / at[k].u;
      const int64_t r = std::clamp<int64_t>(int64_t(along) / g.cell_rows, 0, g.grid_rows - 1);
      const int64_t c = g.role == GridRole::Scores
                            ? std::clamp<int64_t>(int64_t((mouse.x - o.x) / at[k].u) / g.cell_cols,
                                                  0, g.grid_cols - 1)
                            : 0;
      const int64_t cell = g.cell_index(r, c);
      const GridView& v = data.grids[k];
      ImGui::BeginTooltip();
      ImGui::Text("%s, tile (%lld, %lld): rows %lld..%lld, cols %lld..%lld",
                  simulator::tensor_name(g.tensor), static_cast<long long>(r),
                  static_cast<long long>(c), static_cast<long long>(r * g.cell_rows),
                  static_cast<long long>(std::min(g.rows, (r + 1) * g.cell_rows) - 1),
                  static_cast<long long>(c * g.cell_cols),
                  static_cast<long long>(std::min(g.cols, (c + 1) * g.cell_cols) - 1));
      if (g.on_chip_only)
        ImGui::Text("computed on chip %d times so far; S never goes to HBM",
                    v.writes[size_t(cell)]);
      else
        ImGui::Text("read %d times, written %d times so far", v.reads[size_t(cell)],
                    v.writes[size_t(cell)]);
      if (!v.skipped.empty() && v.skipped[size_t(cell)])
        ImGui::TextUnformatted("skipped: the mask hides this block");
      if (!g.on_chip_only)
        ImGui::Text("%s so far: %s read, %s written", simulator::tensor_name(g.tensor),
                    format_bytes(v.bytes_read).c_str(), format_bytes(v.bytes_written).c_str());
      ImGui::EndTooltip();
    }
  }

  draw_legend(dl, legend, {base.x, base.y + avail.y + 4}, avail.x);
  ImGui::SetCursorScreenPos({base.x, base.y + avail.y + legend_h});
}

}  // namespace flashlab::viz::app
