// Bad input exits 2 with one line on stderr that names the culprit, and never crashes: every row
// of the table in bad_inputs.hpp, and a check that the table covers every option of every command
// as their --help lists them.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bad_inputs.hpp"
#include "cli_runner.hpp"

using flashlab::test::BadInput;
using flashlab::test::CliResult;
using flashlab::test::run_flashlab;

namespace {

// A row as run: the command and its arguments.
struct Row {
  BadInput input;
  std::string args;  // after "flashlab"
};

// The table's rows, the problem options once for each of compare, sweep and trace (sweep needs
// a --param before it looks at them).
// The row's arguments with {src} (the source tree) filled in.
std::string args_of(const BadInput& r) {
  std::string args = r.args;
  for (size_t at = args.find("{src}"); at != std::string::npos; at = args.find("{src}"))
    args.replace(at, 5, FLASHLAB_TEST_SOURCE_DIR);
  return args;
}

// Whether `text` holds every " ... "-separated part of `says`, in order.
bool says_all(const std::string& text, const std::string& says) {
  size_t from = 0, part = 0;
  while (part <= says.size()) {
    const size_t end = std::min(says.find(" ... ", part), says.size());
    const size_t at = text.find(says.substr(part, end - part), from);
    if (at == std::string::npos) return false;
    from = at + (end - part);
    part = end + 5;
  }
  return true;
}

std::vector<Row> all_rows() {
  std::vector<Row> rows;
  for (const BadInput& r : flashlab::test::kCommandRows)
    rows.push_back({r, std::string(r.command) + (*r.command != 0 ? " " : "") + args_of(r)});
  for (const char* command : {"compare", "sweep", "trace"})
    for (BadInput r : flashlab::test::kProblemRows) {
      // trace takes no --gpu (its rows are with trace's own).
      if (std::string(command) == "trace" && std::string(r.option) == "--gpu") continue;
      r.command = command;
      const std::string param = std::string(command) == "sweep" ? "--param N --values 64 " : "";
      rows.push_back({r, std::string(command) + " " + param + args_of(r)});
    }
  return rows;
}

// The long names of the options `flashlab <command> --help` lists ("--seq", "--output"), each
// with whether it takes a value (its help line names a type: "--seq INT", "--sram TEXT").
std::map<std::string, bool> help_options(const std::string& command) {
  const CliResult help = run_flashlab(command + " --help");
  REQUIRE(help.exit_code == 0);
  std::map<std::string, bool> options;
  std::istringstream lines(help.out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string names, type;
    if (!(words >> names) || names[0] != '-') continue;
    words >> type;
    const bool takes_value = type == "INT" || type == "UINT" || type == "FLOAT" ||
                             type.rfind("TEXT", 0) == 0 || type.rfind("INT=", 0) == 0 ||
                             type.rfind("UINT=", 0) == 0 || type.rfind("FLOAT=", 0) == 0;
    std::istringstream parts(names);
    std::string name;
    while (std::getline(parts, name, ','))
      if (name.rfind("--", 0) == 0 && name != "--help") options[name] = takes_value;
  }
  return options;
}

}  // namespace

TEST_CASE("every row of the bad-input table exits 2 with one line naming the culprit") {
  int rows = 0;
  for (const Row& r : all_rows()) {
    const CliResult result = run_flashlab(r.args);
    INFO("flashlab " << r.args << "\nstdout: " << result.out << "\nstderr: " << result.err);
    CHECK(result.exit_code == 2);
    CHECK(result.err.rfind("flashlab: error: ", 0) == 0);
    CHECK(flashlab::test::count_lines_with(result.err, "") == 1);
    CHECK(says_all(result.err, r.input.says));
    ++rows;
  }
  MESSAGE(rows << " bad inputs refused");
}

// The subcommands `flashlab --help` lists.
std::vector<std::string> help_subcommands() {
  const CliResult help = run_flashlab("--help");
  REQUIRE(help.exit_code == 0);
  std::vector<std::string> commands;
  std::istringstream lines(help.out);
  std::string line;
  bool listing = false;
  while (std::getline(lines, line)) {
    if (line.rfind("Subcommands:", 0) == 0) {
      listing = true;
      continue;
    }
    std::istringstream words(line);
    std::string name;
    if (!listing || !(words >> name)) {
      if (listing && !commands.empty()) break;
      continue;
    }
    commands.push_back(name);
  }
  return commands;
}

// A new command or option without rows fails here: add its rows to bad_inputs.hpp.
TEST_CASE("the bad-input table covers every option of every command") {
  std::map<std::string, std::set<std::string>> kinds;  // "command option" -> kinds covered
  for (const Row& r : all_rows())
    kinds[std::string(r.input.command) + " " + r.input.option].insert(r.input.kind);
  const std::vector<std::string> commands = help_subcommands();
  CHECK(commands.size() >= 4);
  for (const std::string& command : commands) {
    const std::map<std::string, bool> options = help_options(command);
    CHECK(!options.empty());
    for (const auto& [option, takes_value] : options) {
      const std::string key = command + " " + option;
      INFO("add rows for flashlab " << key << " to tests/cli/bad_inputs.hpp");
      if (kinds.count(key) == 0) {
        FAIL_CHECK("no rows");
        continue;
      }
      // Every option is given a wrong value (of the wrong type, or refused otherwise); every
      // option that takes a value is also given none.
      const std::set<std::string>& k = kinds[key];
      CHECK((k.count("wrong type") + k.count("other")) >= 1);
      if (takes_value) CHECK(k.count("missing") == 1);
    }
  }
}
