// run_command with posix_spawn (safe from the batch's worker threads): a new process group, so a
// time limit kills the compiler or the grader together with every child it started.
#include "process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

extern char** environ;

namespace flashlab::labs::submit {

namespace {

// The process groups of the commands running now (0: a free slot). Atomics of a lock-free type,
// so the signal handler may read them.
std::atomic<pid_t> g_running[256];
static_assert(std::atomic<pid_t>::is_always_lock_free);

std::atomic<pid_t>* track(pid_t pid) {
  for (std::atomic<pid_t>& slot : g_running) {
    pid_t free = 0;
    if (slot.compare_exchange_strong(free, pid)) return &slot;
  }
  return nullptr;  // more commands at once than slots: that one is not killed on a signal
}

void kill_running(int sig) {
  for (std::atomic<pid_t>& slot : g_running)
    if (const pid_t pid = slot.load(); pid > 0) kill(-pid, SIGKILL);
  signal(sig, SIG_DFL);
  raise(sig);
}

}  // namespace

void kill_commands_on_signals() {
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) signal(sig, kill_running);
}

std::string shell_quote(const std::string& text) {
  std::string q = "'";
  for (const char c : text) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

CommandResult run_command(const std::string& command, const std::string& cwd,
                          const std::string& log_path, double timeout_s, bool append) {
  using clock = std::chrono::steady_clock;
  CommandResult result;
  const std::string script = "cd " + shell_quote(cwd) + " && " + command;
  posix_spawn_file_actions_t files;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&files);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
  if (!log_path.empty()) {
    posix_spawn_file_actions_addopen(&files, 1, log_path.c_str(),
                                     O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
    posix_spawn_file_actions_adddup2(&files, 1, 2);
  }
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  char* argv[] = {const_cast<char*>("/bin/sh"), const_cast<char*>("-c"),
                  const_cast<char*>(script.c_str()), nullptr};
  pid_t pid = 0;
  const auto start = clock::now();
  const int spawned = posix_spawn(&pid, "/bin/sh", &files, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attr);
  if (spawned != 0) return result;
  std::atomic<pid_t>* const slot = track(pid);

  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) break;
    const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
    if (timeout_s > 0 && elapsed > timeout_s) {
      kill(-pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      result.status = CommandResult::Status::TimedOut;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(elapsed < 1 ? 5 : 25));
  }
  kill(-pid, SIGKILL);  // whatever the command left running in its group
  if (slot != nullptr) slot->store(0);
  result.seconds = std::chrono::duration<double>(clock::now() - start).count();
  if (result.status == CommandResult::Status::TimedOut) return result;
  if (WIFSIGNALED(status)) {
    result.status = CommandResult::Status::Signaled;
    result.code = WTERMSIG(status);
  } else {
    result.status = CommandResult::Status::Exited;
    result.code = WEXITSTATUS(status);
  }
  return result;
}

std::string describe(const CommandResult& r, double timeout_s) {
  switch (r.status) {
    case CommandResult::Status::Exited:
      return "exit code " + std::to_string(r.code);
    case CommandResult::Status::Signaled: {
      const char* abbrev = sigabbrev_np(r.code);
      const char* text = strsignal(r.code);
      return std::string("killed by SIG") + (abbrev ? abbrev : "?") + " (" + (text ? text : "?") +
             ")";
    }
    case CommandResult::Status::TimedOut: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "timed out after %g s", timeout_s);
      return buf;
    }
    case CommandResult::Status::NotStarted:
      break;
  }
  return "could not be started";
}

}  // namespace flashlab::labs::submit
