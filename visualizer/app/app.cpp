// The frame: panel layout over the whole display, playback, keyboard shortcuts, and turning the
// controls into a session.
#include "app.hpp"

#include <imgui.h>

#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>

#include <algorithm>
#include <cmath>

#include "theme.hpp"

namespace flashlab::viz::app {

namespace {
int index_of(VizAlgorithm a) {
  for (size_t k = 0; k < std::size(kAlgorithms); ++k)
    if (kAlgorithms[k] == a) return int(k);
  return 0;
}
}  // namespace

ControlsState controls_from(const VizConfig& c) {
  ControlsState s;
  s.algorithm = index_of(c.algorithm);
  s.seq = int(c.seq);
  s.head_dim = int(c.head_dim);
  s.sram_kib = float(double(c.sram_bytes) / 1024.0);
  s.paper_rule = !c.tiles.has_value();
  if (c.tiles) s.block_rows = int(c.tiles->block_rows), s.block_cols = int(c.tiles->block_cols);
  s.causal = c.causal;
  s.kept_max = c.kept_max;
  s.dropout = float(c.dropout);
  s.seed = int(c.seed);
  const std::string p = sparse_pattern(c);  // block-sparse without a pattern: its default
  if (p == "butterfly") s.sparse_kind = 1;
  if (p.rfind("local:", 0) == 0) s.sparse_kind = 2, s.local_window = std::atoi(p.c_str() + 6);
  if (p.rfind("random:", 0) == 0)
    s.sparse_kind = 3, s.random_density = float(std::atof(p.c_str() + 7));
  return s;
}

VizConfig config_from(const ControlsState& s) {
  VizConfig c;
  c.algorithm =
      kAlgorithms[size_t(std::clamp<int>(s.algorithm, 0, int(std::size(kAlgorithms)) - 1))];
  c.seq = s.seq;
  c.head_dim = s.head_dim;
  c.sram_bytes = std::llround(double(s.sram_kib) * 1024.0);
  if (!s.paper_rule) c.tiles = TileSizes{s.block_rows, s.block_cols};
  c.causal = s.causal;
  c.kept_max = s.kept_max && c.algorithm == VizAlgorithm::Flash2;  // kept for a switch back
  c.dropout = double(s.dropout);
  c.seed = uint64_t(std::max(0, s.seed));
  char buf[48];
  switch (s.sparse_kind) {
    case 1:
      c.sparse = "butterfly";
      break;
    case 2:
      c.sparse = "local:" + std::to_string(s.local_window);
      break;
    case 3:
      std::snprintf(buf, sizeof buf, "random:%.2f", double(s.random_density));
      c.sparse = buf;
      break;
    default:
      break;
  }
  return c;
}

void set_session(App& app, std::unique_ptr<Session> session, int64_t step) {
  app.replay.reset();
  app.session = std::move(session);
  app.replay = make_replay(*app.session);
  seek(*app.replay, step);
  app.ui.pending_events = 0;
  app.ui.scroll_line = -1;
  app.ui.softmax_row = std::clamp<int>(
      app.ui.softmax_row, 0, int(std::max<int64_t>(1, app.session->trace.shape.seq_q)) - 1);
}

void handle_keys(ReplayState& replay, UiState& ui) {
  const ImGuiIO& io = ImGui::GetIO();
  if (io.WantTextInput) return;
  auto pressed = [](ImGuiKey key) { return ImGui::IsKeyPressed(ImGui::GetKeyIndex(key), true); };
  // Dear ImGui 1.86 names only a few letter keys; the GLFW backend indexes keys by GLFW code.
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Space), false)) ui.playing = !ui.playing;
  const int64_t stride = io.KeyShift ? 10 : 1;
  if (pressed(ImGuiKey_RightArrow)) seek(replay, replay.step + stride), ui.playing = false;
  if (pressed(ImGuiKey_LeftArrow)) seek(replay, replay.step - stride), ui.playing = false;
  if (pressed(ImGuiKey_Home)) seek(replay, 0), ui.playing = false;
  if (pressed(ImGuiKey_End)) seek(replay, step_count(replay)), ui.playing = false;
  if (pressed(ImGuiKey_PageDown)) seek(replay, next_step(replay, JumpTarget::Block));
  if (pressed(ImGuiKey_PageUp)) seek(replay, previous_step(replay, JumpTarget::Block));
  if (ImGui::IsKeyPressed(GLFW_KEY_R)) seek(replay, next_step(replay, JumpTarget::Rescale));
  if (ImGui::IsKeyPressed(GLFW_KEY_O)) seek(replay, next_step(replay, JumpTarget::WriteOutput));
}

// A dashboard: the layout follows the window size and cannot be dragged apart.
bool begin_panel(const char* title, ImVec2 pos, ImVec2 size) {
  ImGui::SetNextWindowPos(pos, ImGuiCond_Always);
  ImGui::SetNextWindowSize(size, ImGuiCond_Always);
  return ImGui::Begin(title, nullptr,
                      ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize |
                          ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoSavedSettings |
                          ImGuiWindowFlags_NoBringToFrontOnFocus);
}

void draw_ui(App& app, double dt) {
  if (app.compare) return draw_compare(*app.compare, app.ui);
  if (app.softmax_run) return draw_softmax_run(*app.softmax_run);
  const ImGuiIO& io = ImGui::GetIO();
  const float W = io.DisplaySize.x, H = io.DisplaySize.y, gap = 4.0f;
  const float timeline_h = std::round(std::clamp(H * 0.1f, 92.0f, 120.0f));
  const float main_h = H - timeline_h - gap;
  const float left_w = std::round(std::clamp(W * 0.205f, 300.0f, 380.0f));
  const float right_w = std::round(std::clamp(W * 0.29f, 360.0f, 560.0f));
  const float center_w = W - left_w - right_w - 2 * gap;
  const float controls_h = std::round(main_h * 0.60f);
  const float hbm_h = std::round(main_h * 0.585f);
  const float code_h = std::round(main_h * 0.40f);
  const float cx = left_w + gap, rx = W - right_w;

  if (app.replay) handle_keys(*app.replay, app.ui);

  if (begin_panel("Controls", {0, 0}, {left_w, controls_h})) draw_controls(app);
  ImGui::End();
  if (!app.session || !app.replay) return;
  Session& session = *app.session;
  ReplayState& replay = *app.replay;

  // Timeline first: playback moves the step before the other panels read it.
  if (begin_panel("Timeline", {0, H - timeline_h}, {W, timeline_h}))
    draw_timeline(session, replay, app.ui, dt);
  ImGui::End();

  if (begin_panel("SRAM (on chip)", {0, controls_h + gap}, {left_w, main_h - controls_h - gap}))
    draw_sram(sram_view_data(replay), app.ui);
  ImGui::End();

  if (begin_panel("HBM (off chip): tiles by tensor", {cx, 0}, {center_w, hbm_h}))
    draw_hbm(session, hbm_view_data(replay), app.ui);
  ImGui::End();

  if (begin_panel("Online softmax", {cx, hbm_h + gap}, {center_w, main_h - hbm_h - gap})) {
    if (app.ui.follow_row) app.ui.softmax_row = int(followed_row(replay));
    draw_softmax(session, softmax_panel_data(replay, app.ui.softmax_row), replay, app.ui);
  }
  ImGui::End();

  if (begin_panel("Pseudo-code", {rx, 0}, {right_w, code_h}))
    draw_pseudo_code(pseudo_code_data(replay), app.ui);
  ImGui::End();

  if (begin_panel("HBM traffic, FLOPs, predicted time", {rx, code_h + gap},
                  {right_w, main_h - code_h - gap}))
    draw_counters(counters_data(replay), app.ui);
  ImGui::End();
}

}  // namespace flashlab::viz::app
