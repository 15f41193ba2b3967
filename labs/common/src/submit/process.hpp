// Running one step of grading a submission (a compile, a link, a grader): a shell command in its
// own process group with its output in a file, killed with everything it started at a time limit,
// so that a submission that hangs or forks cannot hold up a batch.
#pragma once

#include <string>

namespace flashlab::labs::submit {

struct CommandResult {
  enum class Status { Exited, Signaled, TimedOut, NotStarted };
  Status status = Status::NotStarted;
  int code = 0;  // the exit code, or the signal
  double seconds = 0;
  bool ok() const { return status == Status::Exited && code == 0; }
};

// Runs `/bin/sh -c command` in `cwd`, its stdout and stderr to `log_path` (appended when
// `append`; the terminal when empty), stdin from /dev/null. timeout_s <= 0: no limit.
CommandResult run_command(const std::string& command, const std::string& cwd,
                          const std::string& log_path, double timeout_s, bool append = false);

// On SIGINT, SIGTERM or SIGHUP (Ctrl-C, a killed batch), kill every command still running, with
// everything it started, before this process ends: they are in their own process groups, which
// a terminal's Ctrl-C does not reach.
void kill_commands_on_signals();

// "exit code 2", "killed by SIGSEGV (Segmentation fault)", "timed out after 30 s".
std::string describe(const CommandResult& r, double timeout_s);

// `text` as one single-quoted shell word.
std::string shell_quote(const std::string& text);

}  // namespace flashlab::labs::submit
