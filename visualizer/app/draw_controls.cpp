// The controls panel: the problem, the machine and the options; a configuration the simulator
// refuses is explained inline (the last valid run stays on screen), never a crash.
#include <imgui.h>

#include <chrono>
#include <cstdio>

#include "app.hpp"
#include "theme.hpp"

namespace flashlab::viz::app {

namespace {

// Rebuilds the session for the edited controls (call when no widget is being edited).
void apply(App& app) {
  const VizConfig config = config_from(app.ui.controls);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    auto session = std::make_unique<Session>(build_session(config));
    app.ui.build_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    app.ui.error.clear();
    app.ui.refused.reset();
    app.ui.applied = app.ui.controls;
    app.ui.playing = false;
    set_session(app, std::move(session), 0);
  } catch (const Error& e) {
    app.ui.error = e.what();
    app.ui.refused = app.ui.controls;
  } catch (const std::bad_alloc&) {
    app.ui.error = "out of memory for this problem; try a smaller N or larger tiles";
    app.ui.refused = app.ui.controls;
  } catch (const std::exception& e) {  // anything else: still explained, never a crash
    app.ui.error = std::string("cannot run this configuration: ") + e.what();
    app.ui.refused = app.ui.controls;
  }
}

void label(const char* text) {
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted(text);
  ImGui::SameLine(ImGui::GetFontSize() * 6.4f);
  ImGui::SetNextItemWidth(-1);
}

void draw_trace_source(App& app) {
  const Session& s = *app.session;
  ImGui::TextWrapped("Replaying %s", s.source.c_str());
  dim_text_wrapped(s.title.c_str());
  ImGui::Text("N = %lld, d = %lld, M = %s", static_cast<long long>(s.trace.shape.seq_q),
              static_cast<long long>(s.trace.shape.head_dim),
              format_bytes(s.trace.sram_capacity_bytes).c_str());
  ImGui::Text("Br %s Bc = %lld %s %lld%s%s", sym(app.ui, Sym::Times),
              static_cast<long long>(s.tiles.block_rows), sym(app.ui, Sym::Times),
              static_cast<long long>(s.tiles.block_cols), s.trace.causal ? ", causal" : "",
              s.trace.block_sparse ? ", block-sparse" : "");
  ImGui::Spacing();
  if (ImGui::Button("Simulate this configuration instead")) {
    app.ui.controls = controls_from(s.config);
    apply(app);
  }
}

// The keyboard shortcuts, at the bottom of the panel.
void draw_keys() {
  const float h = ImGui::GetTextLineHeightWithSpacing() * 4.2f;
  const float y = ImGui::GetWindowHeight() - h - ImGui::GetStyle().WindowPadding.y;
  if (ImGui::GetCursorPosY() < y) ImGui::SetCursorPosY(y);
  ImGui::Separator();
  ImGui::TextDisabled("Keys");
  ImGui::Text("Space play/pause   Left/Right step (Shift: 10)");
  ImGui::Text("Home/End first/last   PgUp/PgDn block");
  ImGui::Text("R next rescale   O next write of O");
}

}  // namespace

void draw_controls(App& app) {
  UiState& ui = app.ui;
  ControlsState& c = ui.controls;
  if (app.session && app.session->from_trace_file) {
    draw_trace_source(app);
  } else {
    const char* current = display_name(kAlgorithms[size_t(c.algorithm)]);
    ImGui::SetNextItemWidth(-1);
    if (ImGui::BeginCombo("##algorithm", current)) {
      for (size_t k = 0; k < std::size(kAlgorithms); ++k)
        if (ImGui::Selectable(display_name(kAlgorithms[k]), int(k) == c.algorithm)) {
          c.algorithm = int(k);
          // Block-sparse needs a pattern: start from the paper's butterfly.
          if (kAlgorithms[k] == VizAlgorithm::BlockSparse && c.sparse_kind == 0) c.sparse_kind = 1;
        }
      ImGui::EndCombo();
    }
    label("N (seq)");
    ImGui::InputInt("##seq", &c.seq, 32, 256);
    label("d (head)");
    ImGui::InputInt("##d", &c.head_dim, 16, 64);
    label("SRAM M");
    ImGui::InputFloat("##sram", &c.sram_kib, 0.5f, 8.0f, "%.2f KiB");
    ImGui::Checkbox("Block sizes by the paper's rule", &c.paper_rule);
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip(
          "FA1 Alg. 1 l. 1: Bc = ceil(M/4d), Br = min(Bc, d), shrunk until every\n"
          "tile of the algorithm fits the SRAM (M in elements).");
    if (c.paper_rule) {
      if (app.session) {
        const TileSizes& t = app.session->tiles;
        ImGui::TextDisabled("   Br %s Bc = %lld %s %lld", sym(ui, Sym::Times),
                            static_cast<long long>(t.block_rows), sym(ui, Sym::Times),
                            static_cast<long long>(t.block_cols));
      }
    } else {
      label("Br, Bc");
      int both[2] = {c.block_rows, c.block_cols};
      if (ImGui::InputInt2("##tiles", both)) c.block_rows = both[0], c.block_cols = both[1];
    }
    ImGui::Checkbox("Causal mask", &c.causal);
    if (kAlgorithms[size_t(c.algorithm)] == VizAlgorithm::Flash2)
      ImGui::Checkbox("Kept max (FA4)", &c.kept_max);  // O rescaled only when m moves
    label("Dropout");
    ImGui::SliderFloat("##dropout", &c.dropout, 0.0f, 0.9f, "%.2f");
    label("Sparsity");
    const bool sparse_algorithm = kAlgorithms[size_t(c.algorithm)] == VizAlgorithm::BlockSparse;
    const char* kinds[] = {sparse_algorithm ? "butterfly (default)" : "dense", "butterfly",
                           "local:W", "random:DENSITY"};
    ImGui::Combo("##sparse", &c.sparse_kind, kinds, 4);
    if (c.sparse_kind == 2) {
      label("  window W");
      ImGui::InputInt("##window", &c.local_window, 1, 4);
    } else if (c.sparse_kind == 3) {
      label("  density");
      ImGui::SliderFloat("##density", &c.random_density, 0.05f, 1.0f, "%.2f");
    }
    label("Seed");
    ImGui::InputInt("##seed", &c.seed);

    // Apply once the edit is finished (no widget active), if something changed and was not
    // refused already.
    if (!ImGui::IsAnyItemActive() && !(c == ui.applied) && !(ui.refused && *ui.refused == c))
      apply(app);
  }

  ImGui::Separator();
  if (!ui.error.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, IM_COL32(248, 113, 113, 255));
    ImGui::TextWrapped("%s", ui.error.c_str());
    ImGui::PopStyleColor();
    dim_text_wrapped("Showing the last valid run.");
  }
  if (!app.session) {
    draw_keys();
    return;
  }
  const Session& s = *app.session;
  for (const std::string& note : s.notes) dim_text_wrapped(note.c_str());
  char stats[160];
  std::snprintf(stats, sizeof stats,
                "%lld events, T_r %s T_c = %lld %s %lld blocks, built in %.2f s",
                static_cast<long long>(s.event_count()), sym(ui, Sym::Times),
                static_cast<long long>(
                    ceil_div(s.trace.shape.seq_q, std::max<int64_t>(1, s.tiles.block_rows))),
                sym(ui, Sym::Times),
                static_cast<long long>(
                    ceil_div(s.trace.shape.seq_k, std::max<int64_t>(1, s.tiles.block_cols))),
                ui.build_seconds);
  dim_text_wrapped(stats);
  draw_keys();
}

}  // namespace flashlab::viz::app
