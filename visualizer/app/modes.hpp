// What flashlab-viz runs once its window, OpenGL context and Dear ImGui are up, one file each:
// the window loop (window_loop.cpp), the off-screen screenshot (screenshot.cpp), the frame-time
// benchmark (benchmark_frames.cpp); the trace-load benchmark (benchmark_load.cpp) needs no window.
// All draw through frame.cpp. main.cpp parses the options, opens the window and picks one.
#pragma once

#include <string>

#include <flashlab/simulator/trace/trace.hpp>

#include "app.hpp"

struct GLFWwindow;
struct ImVec2;

namespace flashlab::viz::app {

// One frame of the UI: the backends' new frame, draw_ui, ImGui::Render. `forced_size`: the
// display size of an off-screen framebuffer (null: the window's).
void new_frame(App& app, double dt, const ImVec2* forced_size);
// Clears the framebuffer to the theme's background and draws the frame built by new_frame.
void render(int width, int height);

// Until the window closes: input, playback, one frame per event or per playback tick.
// report_state prints the state the keyboard changes whenever it changes (for tests).
int interactive(App& app, GLFWwindow* window, bool report_state);

// One frame rendered off-screen into a width x height framebuffer object, saved as PNG.
int screenshot(App& app, const std::string& path, int width, int height);

// Plays `frames` frames without vsync and prints the frame times.
int benchmark_frames(App& app, GLFWwindow* window, int frames);

// Loads the trace at `path` `repeats` times as startup does and prints the times.
int benchmark_load(const std::string& path, int repeats);

// The trace file at `path` given as `option` (main.cpp); throws flashlab::Error naming the option,
// the file and the problem (missing, a directory, too large, a field the reader refuses).
simulator::Trace read_trace_file(const std::string& path, const std::string& option = "--trace");

}  // namespace flashlab::viz::app
