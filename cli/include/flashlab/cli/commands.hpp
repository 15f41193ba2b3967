// The subcommands of `flashlab`. Each adds itself to the parent app with its options and returns
// what to run when it was chosen; main() parses, runs it and maps errors to exit codes.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace flashlab::cli {

// Exit codes shared by every subcommand (compare's are what scripts and autograders rely on).
inline constexpr int kExitOk = 0;
inline constexpr int kExitOutOfTolerance = 1;  // compare: an implementation is not within tolerance
inline constexpr int kExitBadInput = 2;        // bad option, file or value (one line on stderr)
inline constexpr int kExitInternal = 3;        // a bug or the machine (e.g. out of memory)

struct Subcommand {
  CLI::App* app = nullptr;
  std::function<int()> run;  // returns the exit code; throws flashlab::Error on bad input
};

Subcommand add_compare_command(CLI::App& parent);
Subcommand add_sweep_command(CLI::App& parent);
Subcommand add_trace_command(CLI::App& parent);
Subcommand add_info_command(CLI::App& parent);
Subcommand add_validate_command(CLI::App& parent);

}  // namespace flashlab::cli
