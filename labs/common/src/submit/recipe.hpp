// How the build makes a lab's skeleton grader (grade_NN_student), read from Ninja
// (`ninja -t commands`): the compile command of each student source and the link command. The
// same commands with another source, object and executable build a submission's grader from the
// prebuilt grader objects and libraries, with the build's exact flags (and its ccache launcher).
#pragma once

#include <string>
#include <vector>

namespace flashlab::labs::submit {

struct Recipe {
  struct Compile {
    std::string source;   // the skeleton's file (absolute), as in the command
    std::string object;   // its object file (relative to the build directory)
    std::string command;  // run in the build directory
  };
  std::vector<Compile> compiles;  // one per student source, in `sources` order
  std::string link;               // run in the build directory
  std::string exe;                // the executable the link command writes
};

// Reads the commands Ninja lists for the grader (`ninja_commands`, one per line, the link last)
// and finds the compile command of each of `sources`. Throws flashlab::Error naming what is
// missing.
Recipe read_recipe(const std::string& ninja_commands, const std::vector<std::string>& sources);

// Runs `ninja -C build_dir -t commands target` and reads its output as above.
Recipe load_recipe(const std::string& ninja, const std::string& build_dir,
                   const std::string& target, const std::vector<std::string>& sources);

// The compile command of `c` for `source` into `object` (both absolute).
std::string compile_command(const Recipe::Compile& c, const std::string& source,
                            const std::string& object);
// The link command with each student object replaced by `objects` (same order) and writing `exe`.
std::string link_command(const Recipe& r, const std::vector<std::string>& objects,
                         const std::string& exe);

}  // namespace flashlab::labs::submit
