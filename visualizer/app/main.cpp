// flashlab-viz's entry point: parses the options, builds or loads the session, opens the GLFW
// window with an OpenGL 3 context and the Dear ImGui backends, and runs one mode of modes.hpp.
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_opengl3.h>

#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <flashlab/simulator/trace/trace_json.hpp>
#include <flashlab/viz/input_file.hpp>

#include "app.hpp"
#include "modes.hpp"
#include "options.hpp"
#include "theme.hpp"

using namespace flashlab;
using namespace flashlab::viz;
using namespace flashlab::viz::app;

namespace {

void glfw_error(int code, const char* text) {
  std::fprintf(stderr, "flashlab-viz: GLFW error %d: %s\n", code, text);
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

}  // namespace

namespace flashlab::viz::app {

// The trace file of `option` (--trace, --compare); every problem names the option and the file.
simulator::Trace read_trace_file(const std::string& path, const std::string& option) {
  const std::string what = option + " " + path;
  check_input_file(path, what, "a trace file written by `flashlab trace -o FILE.json`",
                   uint64_t(simulator::kMaxTraceJsonBytes),
                   "traces are read up to 1 GiB (docs/trace-format.md, Limits)");
  std::ifstream in(path, std::ios::binary);
  try {
    return simulator::read_trace_json(in);
  } catch (const Error& e) {
    throw Error(what + ": " + e.what());
  }
}

}  // namespace flashlab::viz::app

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
      compare = open_compare(
          *session, session_from_trace(read_trace_file(o.compare, "--compare"), o.compare), o.step);
    if (!o.softmax_run.empty()) softmax_run = open_softmax_run(o.softmax_run, o.row, o.step);
  } catch (const Error& e) {
    std::fprintf(stderr, "flashlab-viz: error: %s\n", e.what());
    return 2;
  }
  const double build_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Out-of-range --step and --row are clamped to the last one, and said so: in the replay, steps
  // and query rows; beside a solution (--compare), aligned steps; in lab 1's run (--softmax-run),
  // rows and the merges of the row shown.
  auto past = [](const char* option, int64_t value, const char* what, int64_t last) {
    std::fprintf(stderr,
                 "flashlab-viz: warning: %s %lld is past the last %s; showing the last, %lld\n",
                 option, static_cast<long long>(value), what, static_cast<long long>(last));
  };
  if (compare) {
    const int64_t rows = int64_t(compare->comparison.rows.size());
    if (o.step >= rows && rows > 0) past("--step", o.step, "aligned step", rows - 1);
  } else if (softmax_run) {
    const int64_t rows = int64_t(softmax_run->run.rows.size());
    if (o.row >= rows) past("--row", o.row, "row of the run", rows - 1);
    const int64_t merges = int64_t(softmax_run->run.rows[softmax_run->row].steps.size());
    if (o.step > merges) past("--step", o.step, "merge of the row", merges);
  } else {
    if (o.step > session->event_count()) past("--step", o.step, "step", session->event_count());
    if (o.row >= session->trace.shape.seq_q)
      past("--row", o.row, "query row", session->trace.shape.seq_q - 1);
  }

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
      code = benchmark_frames(app, window, o.benchmark_frames);
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
