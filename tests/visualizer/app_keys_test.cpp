// flashlab-viz's keyboard shortcuts through the real GUI: key presses sent by xdotool (the X
// server's XTEST extension, as from a keyboard) to a flashlab-viz window in a private X server
// (xvfb-run), and the replay state the window reports (--report-state) compared with the model
// driven by the documented action of each key (docs/visualizer.md, Keyboard). What is tested here
// is the path from a key to the replay; where the jumps land is checked against the trace by the
// model's own tests (softmax_panel_test.cpp), so the model's next_step gives the expected steps.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <flashlab/viz/replay.hpp>
#include <flashlab/viz/session.hpp>

#include "app_run.hpp"

extern char** environ;

using namespace flashlab;
using namespace flashlab::viz;
using test::run;
using test::Run;

namespace {

// One line of --report-state.
struct State {
  int64_t step = -1;
  bool playing = false;
  int row = -1;
  int keys_down = -1;
};

std::optional<State> parse_state(const std::string& line) {
  long long step = 0;
  int playing = 0;
  State s;
  if (std::sscanf(line.c_str(), "flashlab-viz state: step=%lld playing=%d row=%d keys=%d", &step,
                  &playing, &s.row, &s.keys_down) != 4)
    return std::nullopt;
  s.step = step;
  s.playing = playing != 0;
  return s;
}

void xdotool(const std::string& args) {
  const Run r = run("xdotool " + args);
  INFO("xdotool " << args << ": " << r.output);
  REQUIRE(r.code == 0);
}

// flashlab-viz --report-state running in the background with its output in a file; stopped when
// this goes out of scope.
class VizWindow {
 public:
  VizWindow(const std::vector<std::string>& options, std::string log) : log_(std::move(log)) {
    std::vector<std::string> args = {test::kViz, "--report-state"};
    args.insert(args.end(), options.begin(), options.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, log_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&files, STDOUT_FILENO, STDERR_FILENO);
    const int failed = posix_spawn(&pid_, argv[0], &files, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&files);
    REQUIRE_MESSAGE(failed == 0, "cannot start " << test::kViz);
  }
  VizWindow(const VizWindow&) = delete;
  VizWindow& operator=(const VizWindow&) = delete;
  ~VizWindow() {
    if (pid_ <= 0) return;  // never kill(-1, ...): that would signal every process
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }

  pid_t pid() const { return pid_; }

  std::string output() const {
    std::ifstream in(log_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::vector<State> states() const {
    std::vector<State> v;
    std::istringstream in(output());
    for (std::string line; std::getline(in, line);)
      if (const auto s = parse_state(line)) v.push_back(*s);
    return v;
  }

  // Waits for the first state from index `from` on that satisfies `ok` and returns its index; the
  // test fails, showing what the app printed, if the app exits or a minute passes first (far
  // longer than a frame takes, even on a loaded machine under a sanitizer).
  size_t wait_for(size_t from, const std::function<bool(const State&)>& ok,
                  const std::string& what) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      const std::vector<State> v = states();
      for (size_t k = from; k < v.size(); ++k)
        if (ok(v[k])) return k;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL("flashlab-viz exited while waiting for " << what << "; it printed:\n" << output());
      }
      if (std::chrono::steady_clock::now() > deadline)
        FAIL("timed out waiting for " << what << "; flashlab-viz printed:\n" << output());
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  State at(size_t k) const { return states().at(k); }

 private:
  std::string log_;
  pid_t pid_ = -1;
};

// Presses `keys` and holds them until the window reports a state that satisfies `seen` (Dear
// ImGui 1.86 drops a press released before a frame has seen it), then releases them and waits
// until the window has seen the release too. Returns the index of the state the press produced;
// `at` becomes the index of the state after the release.
size_t press(VizWindow& viz, const std::string& keys, size_t& at,
             const std::function<bool(const State&)>& seen) {
  xdotool("keydown " + keys);
  const size_t pressed = viz.wait_for(at + 1, seen, "the effect of " + keys);
  xdotool("keyup " + keys);
  at = viz.wait_for(
      pressed, [](const State& s) { return s.keys_down == 0; }, "the release of " + keys);
  return pressed;
}

// A key and what it does to the replay (docs/visualizer.md, Keyboard), from a given step.
struct Shortcut {
  const char* keys;  // xdotool's names
  std::function<int64_t(ReplayState&)> step_after;
};

}  // namespace

TEST_SUITE("app-keys") {
  TEST_CASE("real key presses in the window move the replay as the keyboard table says") {
    if (std::getenv("FLASHLAB_VIZ_IN_XVFB") == nullptr) {
      // Run this suite again inside a private X server: no key press may reach the user's display.
      test::skip_unless_on_path("xvfb-run", "xvfb");
      test::skip_unless_on_path("xdotool", "xdotool");
      std::array<char, 4096> self{};
      const ssize_t n = readlink("/proc/self/exe", self.data(), self.size() - 1);
      REQUIRE(n > 0);
      const Run r = run("FLASHLAB_VIZ_IN_XVFB=1 xvfb-run -a -s '-screen 0 1280x1024x24' " +
                        std::string(self.data(), size_t(n)) + " --test-suite=app-keys");
      INFO(r.output);
      CHECK(r.code == 0);
      return;
    }

    const Session session = build_session(VizConfig{});  // the app's default problem
    ReplayState model = make_replay(session);
    VizWindow viz({"--size", "900x700"}, test::kVizTestDir + "/viz_keys.log");
    const Run found =
        run("timeout 60 xdotool search --sync --onlyvisible --pid " + std::to_string(viz.pid()));
    INFO(found.output);
    REQUIRE(found.code == 0);
    const std::string window = found.output.substr(0, found.output.find('\n'));
    xdotool("windowfocus --sync " + window);
    size_t at = viz.wait_for(
        0, [](const State&) { return true; }, "the first frame");
    CHECK(viz.at(at).step == 0);
    CHECK_FALSE(viz.at(at).playing);

    // Each key acts on the step the window shows before the press, so a key repeat (a press held
    // longer than ImGui's repeat delay on a slow machine) cannot shift the later expectations.
    const Shortcut shortcuts[] = {
        {"Right", [](ReplayState& m) { return m.step + 1; }},
        {"shift+Right", [](ReplayState& m) { return m.step + 10; }},
        {"Left", [](ReplayState& m) { return m.step - 1; }},
        {"End", [](ReplayState& m) { return step_count(m); }},
        {"Home", [](ReplayState&) { return int64_t(0); }},
        {"Next", [](ReplayState& m) { return next_step(m, JumpTarget::Block); }},  // PageDown
        {"Next", [](ReplayState& m) { return next_step(m, JumpTarget::Block); }},
        {"Prior", [](ReplayState& m) { return previous_step(m, JumpTarget::Block); }},  // PageUp
        {"r", [](ReplayState& m) { return next_step(m, JumpTarget::Rescale); }},
        {"o", [](ReplayState& m) { return next_step(m, JumpTarget::WriteOutput); }},
    };
    for (const Shortcut& key : shortcuts) {
      CAPTURE(key.keys);
      const State before = viz.at(at);
      seek(model, before.step);
      const int64_t want = key.step_after(model);
      // The press is recognised by its effect, so every press in the list must move the step.
      REQUIRE(want != before.step);
      const size_t pressed = press(
          viz, key.keys, at, [&](const State& s) { return s.step != before.step || s.playing; });
      CHECK(viz.at(pressed).step == want);
      CHECK_FALSE(viz.at(pressed).playing);
    }

    // Space plays (the step advances by itself), Space again pauses (it stays).
    const int64_t start = viz.at(at).step;
    const size_t playing = press(viz, "space", at, [](const State& s) { return s.playing; });
    CHECK(viz.at(playing).step >= start);
    at = viz.wait_for(
        at, [&](const State& s) { return s.step > start + 2; }, "the playback to advance");
    const size_t paused = press(viz, "space", at, [](const State& s) { return !s.playing; });
    const int64_t stopped = viz.at(paused).step;
    CHECK(stopped > start + 2);
    CHECK(stopped < step_count(model));
    CHECK(viz.at(at).step == stopped);
    CHECK_FALSE(viz.at(at).playing);
    // One step back from there: playback did not go on behind the pause.
    const size_t back = press(viz, "Left", at, [&](const State& s) { return s.step != stopped; });
    CHECK(viz.at(back).step == stopped - 1);
  }
}
