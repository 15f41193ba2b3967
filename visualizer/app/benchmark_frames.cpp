// flashlab-viz --benchmark-frames: the frame time of the UI while it plays a trace.
#include <GLFW/glfw3.h>
#include <imgui.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <vector>

#include "modes.hpp"

namespace flashlab::viz::app {

// Plays at a fixed 16 events per frame without vsync and reports the frame times (CPU work of
// the UI + the GL driver's rendering, glFinish'ed, + the buffer swap).
int benchmark_frames(App& app, GLFWwindow* window, int frames) {
  app.ui.playing = true;
  app.ui.speed = 16 * 60.0f;
  std::vector<double> ms;
  double ui_ms = 0;
  int64_t vertices = 0;
  using clock = std::chrono::steady_clock;
  for (int f = 0; f < frames && !glfwWindowShouldClose(window); ++f) {
    const auto t0 = clock::now();
    glfwPollEvents();
    new_frame(app, 1.0 / 60.0, nullptr);
    const auto t1 = clock::now();
    int w = 0, h = 0;
    glfwGetFramebufferSize(window, &w, &h);
    render(w, h);
    glfwSwapBuffers(window);
    glFinish();
    ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
    ui_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();
    vertices += ImGui::GetDrawData()->TotalVtxCount;
    if (app.replay && app.replay->step >= step_count(*app.replay)) seek(*app.replay, 0);
  }
  if (ms.empty()) return 1;
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  const double mean = std::accumulate(ms.begin(), ms.end(), 0.0) / double(ms.size());
  auto pct = [&](double p) { return sorted[size_t(p * double(sorted.size() - 1))]; };
  const char* renderer = reinterpret_cast<const char*>(glGetString(GL_RENDERER));
  std::printf("flashlab-viz benchmark: %zu frames, %lld events, %s\n", ms.size(),
              static_cast<long long>(app.session->event_count()),
              describe(app.session->config, app.session->tiles).c_str());
  std::printf("  renderer: %s\n", renderer ? renderer : "?");
  std::printf("  frame time: mean %.2f ms (%.0f fps), median %.2f ms, p95 %.2f ms, max %.2f ms\n",
              mean, 1000.0 / mean, pct(0.5), pct(0.95), sorted.back());
  std::printf(
      "  of which building the UI (CPU, Dear ImGui + panels): %.2f ms; the rest is the GL "
      "driver drawing %lld vertices per frame and the swap\n",
      ui_ms / double(ms.size()), static_cast<long long>(vertices / int64_t(ms.size())));
  return 0;
}

}  // namespace flashlab::viz::app
