// flashlab-viz's GUI state and panels (Dear ImGui, immediate mode as in imgui_demo.cpp): plain
// state structs, and one draw_* function per panel that renders the model's panel data.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <flashlab/viz/panels.hpp>
#include <flashlab/viz/replay.hpp>
#include <flashlab/viz/session.hpp>

#include "lab_views.hpp"

struct ImFont;
struct ImVec2;

namespace flashlab::viz::app {

// What the controls edit; turned into a VizConfig when applied.
struct ControlsState {
  int algorithm = 1;  // index into kAlgorithms
  int seq = 256;
  int head_dim = 32;
  float sram_kib = 16.5f;
  bool paper_rule = true;
  int block_rows = 32, block_cols = 32;
  bool causal = false;
  bool kept_max = false;  // flash2 only (VizConfig::kept_max)
  float dropout = 0.0f;
  int sparse_kind = 0;  // 0 none, 1 butterfly, 2 local:W, 3 random:DENSITY
  int local_window = 1;
  float random_density = 0.3f;
  int seed = 0;

  bool operator==(const ControlsState&) const = default;
};

struct UiState {
  ControlsState controls;
  ControlsState applied;                 // the controls the current session was built from
  std::optional<ControlsState> refused;  // the last controls the simulator refused
  std::string error;                     // why the edited configuration was refused (shown inline)
  double build_seconds = 0;              // time of the last build or trace load
  bool playing = false;
  float speed = 40.0f;        // events per second
  double pending_events = 0;  // fractional events carried between frames while playing
  int softmax_row = 0;
  bool follow_row = true;    // the softmax panel follows the current block's first row
  bool unicode = true;       // the loaded font has arrows, Greek, math symbols
  ImFont* mono = nullptr;    // pseudo-code font
  ImFont* small = nullptr;   // labels in the HBM view
  int64_t scroll_line = -1;  // the pseudo-code line last scrolled to
};

struct App {
  std::unique_ptr<Session> session;  // null only when nothing valid was ever built
  std::optional<ReplayState> replay;
  UiState ui;
  // Set: the window shows this view of a student's run instead of the panels above.
  std::unique_ptr<CompareView> compare;
  std::unique_ptr<SoftmaxRunView> softmax_run;
};

// Builds (or loads) a session and resets the replay to `step`.
void set_session(App& app, std::unique_ptr<Session> session, int64_t step);
ControlsState controls_from(const VizConfig& config);
VizConfig config_from(const ControlsState& controls);

// Lays the panels out over the display and draws one frame of the UI (between ImGui::NewFrame
// and ImGui::Render). `dt` is the frame time in seconds, for playback.
void draw_ui(App& app, double dt);

// Places the next window at a fixed rectangle of the display (the dashboard's panels).
bool begin_panel(const char* title, ImVec2 pos, ImVec2 size);

// The views of a student's own run (lab_views.hpp), each over the whole display, with its keys.
void draw_compare(CompareView& view, UiState& ui);
void draw_softmax_run(SoftmaxRunView& view);

// The panels. Each renders its model data and edits only UI state (or the replay step).
void draw_controls(App& app);
void draw_hbm(const Session& session, const HbmViewData& data, UiState& ui);
void draw_sram(const SramViewData& data, UiState& ui);
void draw_softmax(const Session& session, const SoftmaxPanelData& data, ReplayState& replay,
                  UiState& ui);
void draw_pseudo_code(const PseudoCodeData& data, UiState& ui);
void draw_counters(const CountersData& data, UiState& ui);
void draw_timeline(const Session& session, ReplayState& replay, UiState& ui, double dt);

// Keyboard: space play/pause, Left/Right step, Home/End, PageUp/PageDown previous/next block,
// R next rescale, O next write of O.
void handle_keys(ReplayState& replay, UiState& ui);

}  // namespace flashlab::viz::app
