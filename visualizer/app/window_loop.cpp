// flashlab-viz's interactive window loop: input, playback and one frame per event or tick.
#include <GLFW/glfw3.h>
#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <optional>

#include "modes.hpp"

namespace flashlab::viz::app {

namespace {

// What --report-state prints: what the keyboard shortcuts change, and the number of keys held, so
// that a program pressing keys (tests/visualizer/app_keys_test.cpp) can tell when a frame has seen
// its press or its release.
struct ReportedState {
  int64_t step = -1;
  bool playing = false;
  int row = 0;
  int keys_down = 0;

  bool operator==(const ReportedState&) const = default;
};

ReportedState reported_state(const App& app) {
  const ImGuiIO& io = ImGui::GetIO();
  return {app.replay ? app.replay->step : -1, app.ui.playing, app.ui.softmax_row,
          int(std::count(std::begin(io.KeysDown), std::end(io.KeysDown), true))};
}

}  // namespace

int interactive(App& app, GLFWwindow* window, bool report_state) {
  std::optional<ReportedState> reported;
  double last = glfwGetTime();
  while (!glfwWindowShouldClose(window)) {
    // Idle: wait for input (a few frames per second keep hover effects alive).
    if (app.ui.playing)
      glfwPollEvents();
    else
      glfwWaitEventsTimeout(0.25);
    const double now = glfwGetTime();
    new_frame(app, std::min(now - last, 0.1), nullptr);
    last = now;
    if (report_state && reported != reported_state(app)) {
      reported = reported_state(app);
      std::printf("flashlab-viz state: step=%lld playing=%d row=%d keys=%d\n",
                  static_cast<long long>(reported->step), int(reported->playing), reported->row,
                  reported->keys_down);
      std::fflush(stdout);
    }
    int w = 0, h = 0;
    glfwGetFramebufferSize(window, &w, &h);
    render(w, h);
    glfwSwapBuffers(window);
  }
  return 0;
}

}  // namespace flashlab::viz::app
