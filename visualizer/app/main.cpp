// flashlab-viz: GLFW window, OpenGL 3 context and Dear ImGui backends around the panels; the
// headless screenshot (render into a framebuffer object, glReadPixels, stb_image_write) and the
// frame-time and trace-load benchmarks.
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_opengl3.h>
#define GLFW_INCLUDE_GLEXT
#include <GLFW/glfw3.h>
#include <stb_image_write.h>

#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <numeric>
#include <optional>
#include <vector>

#include <flashlab/simulator/trace/trace_json.hpp>

#include "app.hpp"
#include "options.hpp"
#include "theme.hpp"

using namespace flashlab;
using namespace flashlab::viz;
using namespace flashlab::viz::app;

namespace {

void glfw_error(int code, const char* text) {
  std::fprintf(stderr, "flashlab-viz: GLFW error %d: %s\n", code, text);
}

void new_frame(App& app, double dt, const ImVec2* forced_size) {
  ImGui_ImplOpenGL3_NewFrame();
  ImGui_ImplGlfw_NewFrame();
  if (forced_size != nullptr) {  // off-screen: the framebuffer object's size, not the window's
    ImGui::GetIO().DisplaySize = *forced_size;
    ImGui::GetIO().DisplayFramebufferScale = ImVec2(1, 1);
  }
  ImGui::NewFrame();
  draw_ui(app, dt);
  ImGui::Render();
}

void render(int width, int height) {
  glViewport(0, 0, width, height);
  const palette::Rgb bg = palette::kBackground;
  glClearColor(float(bg.r) / 255.0f, float(bg.g) / 255.0f, float(bg.b) / 255.0f, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
}

// Under AddressSanitizer: keep the OpenGL driver (Mesa's *_dri.so, loaded by libGL) mapped
// until exit. glfwTerminate unloads it, and LeakSanitizer then reports the memory its globals
// still held as leaks from an "<unknown module>" that no suppression can name. Pinned, the driver
// stays attributable (tests/visualizer/lsan_mesa.supp names it).
void pin_gl_driver() {
#if defined(__SANITIZE_ADDRESS__)
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void*) {
        const char* name = info->dlpi_name;
        const size_t n = name ? std::strlen(name) : 0;
        if (n > 7 && std::strcmp(name + n - 7, "_dri.so") == 0)
          dlopen(name, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
        return 0;
      },
      nullptr);
#endif
}

template <typename F>
F gl_proc(const char* name) {
  return reinterpret_cast<F>(glfwGetProcAddress(name));
}

// One frame rendered off-screen into an RGBA8 framebuffer object of width x height, saved as PNG.
int screenshot(App& app, const std::string& path, int width, int height) {
  const auto gen_fb = gl_proc<PFNGLGENFRAMEBUFFERSPROC>("glGenFramebuffers");
  const auto bind_fb = gl_proc<PFNGLBINDFRAMEBUFFERPROC>("glBindFramebuffer");
  const auto gen_rb = gl_proc<PFNGLGENRENDERBUFFERSPROC>("glGenRenderbuffers");
  const auto bind_rb = gl_proc<PFNGLBINDRENDERBUFFERPROC>("glBindRenderbuffer");
  const auto storage = gl_proc<PFNGLRENDERBUFFERSTORAGEPROC>("glRenderbufferStorage");
  const auto attach = gl_proc<PFNGLFRAMEBUFFERRENDERBUFFERPROC>("glFramebufferRenderbuffer");
  const auto status = gl_proc<PFNGLCHECKFRAMEBUFFERSTATUSPROC>("glCheckFramebufferStatus");
  const auto del_fb = gl_proc<PFNGLDELETEFRAMEBUFFERSPROC>("glDeleteFramebuffers");
  const auto del_rb = gl_proc<PFNGLDELETERENDERBUFFERSPROC>("glDeleteRenderbuffers");
  if (!gen_fb || !bind_fb || !gen_rb || !bind_rb || !storage || !attach || !status || !del_fb ||
      !del_rb) {
    std::fprintf(stderr, "flashlab-viz: error: OpenGL framebuffer objects are not available\n");
    return 1;
  }
  GLuint fbo = 0, color = 0;
  gen_fb(1, &fbo);
  bind_fb(GL_FRAMEBUFFER, fbo);
  gen_rb(1, &color);
  bind_rb(GL_RENDERBUFFER, color);
  storage(GL_RENDERBUFFER, GL_RGBA8, width, height);
  attach(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER, color);
  if (status(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE) {
    std::fprintf(stderr, "flashlab-viz: error: cannot create a %dx%d framebuffer\n", width, height);
    return 1;
  }
  // A few frames: window sizes, table columns and the pseudo-code's scroll settle after the
  // first ones (immediate mode measures during a frame, applies in the next).
  const ImVec2 size{float(width), float(height)};
  for (int k = 0; k < 4; ++k) {
    new_frame(app, 0.0, &size);
    render(width, height);
  }
  std::vector<unsigned char> pixels(size_t(width) * size_t(height) * 3);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE, pixels.data());
  bind_fb(GL_FRAMEBUFFER, 0);
  del_rb(1, &color);
  del_fb(1, &fbo);
  stbi_flip_vertically_on_write(1);
  stbi_write_png_compression_level = 9;
  if (stbi_write_png(path.c_str(), width, height, 3, pixels.data(), width * 3) == 0) {
    std::fprintf(stderr, "flashlab-viz: error: cannot write %s\n", path.c_str());
    return 1;
  }
  return 0;
}

// Plays at a fixed 16 events per frame without vsync and reports the frame times (CPU work of
// the UI + the GL driver's rendering, glFinish'ed, + the buffer swap).
int benchmark(App& app, GLFWwindow* window, int frames) {
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

simulator::Trace read_trace_file(const std::string& path) {
  std::ifstream in(path);
  require(bool(in), "cannot open trace file '" + path + "'");
  return simulator::read_trace_json(in);
}

// Loads the trace file `repeats` times exactly as startup does and prints the minimum and median
// of each half (the load is dominated by one pass over the file, so the minimum is the machine's
// cost and the median shows the noise of a shared machine).
int benchmark_load(const std::string& path, int repeats) {
  using clock = std::chrono::steady_clock;
  std::vector<double> parse, index, total;
  int64_t events = 0, rows = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = clock::now();
    simulator::Trace trace = read_trace_file(path);
    const auto t1 = clock::now();
    const Session s = session_from_trace(std::move(trace), path);
    const ReplayState replay = make_replay(s);  // set_session's share of the startup
    const auto t2 = clock::now();
    parse.push_back(std::chrono::duration<double>(t1 - t0).count());
    index.push_back(std::chrono::duration<double>(t2 - t1).count());
    total.push_back(std::chrono::duration<double>(t2 - t0).count());
    events = s.event_count();
    rows = int64_t(s.trace.softmax_rows.size());
  }
  auto report = [](const char* what, std::vector<double> seconds) {
    std::sort(seconds.begin(), seconds.end());
    std::printf("  %-54s min %.3f s, median %.3f s\n", what, seconds.front(),
                seconds[seconds.size() / 2]);
  };
  std::printf("flashlab-viz benchmark-load: %s, %lld events, %lld softmax rows, %d loads\n",
              path.c_str(), static_cast<long long>(events), static_cast<long long>(rows), repeats);
  report("read and parse the JSON (simulator::read_trace_json):", parse);
  report("count, rerun, index (session_from_trace, make_replay):", index);
  report("total, before the window opens:", total);
  return 0;
}

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

}  // namespace

int main(int argc, char** argv) {
  auto parsed = parse_options(argc, argv);
  if (const int* code = std::get_if<int>(&parsed)) return *code;
  const AppOptions& o = std::get<AppOptions>(parsed);

  // The session first: a configuration the simulator refuses is a bad option (exit 2).
  std::unique_ptr<Session> session;
  std::unique_ptr<CompareView> compare;
  std::unique_ptr<SoftmaxRunView> softmax_run;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    if (o.benchmark_load > 0) return benchmark_load(o.trace, o.benchmark_load);
    if (!o.trace.empty()) {
      session = std::make_unique<Session>(session_from_trace(read_trace_file(o.trace), o.trace));
    } else {
      session = std::make_unique<Session>(build_session(o.config));
    }
    if (!o.compare.empty())
      compare =
          open_compare(*session, session_from_trace(read_trace_file(o.compare), o.compare), o.step);
    if (!o.softmax_run.empty()) softmax_run = open_softmax_run(o.softmax_run, o.row, o.step);
  } catch (const Error& e) {
    std::fprintf(stderr, "flashlab-viz: error: %s\n", e.what());
    return 2;
  }
  const double build_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  glfwSetErrorCallback(glfw_error);
  if (!glfwInit()) {
    std::fprintf(stderr,
                 "flashlab-viz: error: cannot open a display; for headless use run under "
                 "xvfb-run -a -s '-screen 0 1920x1200x24'\n");
    return 1;
  }
  const bool headless = !o.screenshot.empty();
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
  if (headless) glfwWindowHint(GLFW_VISIBLE, GLFW_FALSE);
  GLFWwindow* window = glfwCreateWindow(
      o.width, o.height, "flashlab-viz: FlashAttention, step by step", nullptr, nullptr);
  if (window == nullptr) {
    std::fprintf(stderr, "flashlab-viz: error: cannot create an OpenGL 3.3 window\n");
    glfwTerminate();
    return 1;
  }
  glfwMakeContextCurrent(window);
  glfwSwapInterval(o.benchmark_frames > 0 ? 0 : 1);
  pin_gl_driver();

  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGui::GetIO().IniFilename = nullptr;  // the layout follows the window; nothing to save
  int code = 0;
  {
    App app;
    float scale = 1.0f;
    if (!headless) glfwGetWindowContentScale(window, &scale, nullptr);
    setup_theme(app.ui, std::clamp(scale, 1.0f, 3.0f));
    ImGui_ImplGlfw_InitForOpenGL(window, true);
    ImGui_ImplOpenGL3_Init("#version 150");

    app.ui.controls = app.ui.applied = controls_from(session->config);
    app.ui.build_seconds = build_seconds;
    const int64_t n = session->event_count();
    set_session(app, std::move(session), o.step >= 0 ? o.step : headless ? n / 2 : 0);
    if (o.row >= 0) app.ui.softmax_row = o.row, app.ui.follow_row = false;
    app.ui.playing = o.play;
    app.compare = std::move(compare);
    app.softmax_run = std::move(softmax_run);

    if (headless)
      code = screenshot(app, o.screenshot, o.width, o.height);
    else if (o.benchmark_frames > 0)
      code = benchmark(app, window, o.benchmark_frames);
    else
      code = interactive(app, window, o.report_state);

    ImGui_ImplOpenGL3_Shutdown();
    ImGui_ImplGlfw_Shutdown();
  }
  ImGui::DestroyContext();
  glfwDestroyWindow(window);
  glfwTerminate();
  return code;
}
