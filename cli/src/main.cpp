// flashlab: the comparison CLI. Parses the subcommand, runs it, and turns every error into one
// line on stderr with exit code 2 (bad input) or 3 (internal); --help exits 0.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <flashlab/cli/build_info.hpp>
#include <flashlab/cli/commands.hpp>
#include <flashlab/cli/terminal.hpp>
#include <flashlab/core/error.hpp>
#include <new>
#include <string>
#include <vector>

namespace {

// Errors are one line: any newline inside a message (e.g. a multi-line simulator refusal) becomes
// "; " so that scripts can grep stderr and a person sees the whole message at once.
std::string one_line(std::string message) {
  std::string out;
  for (size_t i = 0; i < message.size(); ++i) {
    if (message[i] != '\n') {
      out += message[i];
    } else if (i + 1 < message.size()) {
      while (!out.empty() && (out.back() == ' ' || out.back() == ':' || out.back() == ';'))
        out.pop_back();
      out += "; ";
      while (i + 1 < message.size() && message[i + 1] == ' ') ++i;
    }
  }
  return out;
}

// What an option's type accepts, in words.
std::string accepted_by(const CLI::Option& option) {
  const std::string type = option.get_type_name();
  if (type == "INT") return "a whole number";
  if (type == "UINT") return "a whole number >= 0";
  if (type == "FLOAT") return "a number";
  return type.empty() ? "a value" : type;
}

// CLI11 says "Could not convert: --batch = abc"; name the option, the value and what it accepts
// (a flag takes no value, or true/false).
std::string conversion_message(const CLI::App& app, const std::string& what) {
  const std::string prefix = "Could not convert: ";
  const size_t equals = what.find(" = ");
  if (what.rfind(prefix, 0) != 0 || equals == std::string::npos) return what;
  const std::string name = what.substr(prefix.size(), equals - prefix.size());
  const std::string value = what.substr(equals + 3);
  const CLI::Option* option = nullptr;
  for (const CLI::App* command : app.get_subcommands({}))
    if (option == nullptr && command->parsed()) option = command->get_option_no_throw(name);
  if (option == nullptr) option = app.get_option_no_throw(name);
  if (option != nullptr && option->get_items_expected_min() == 0)
    return name + " is a flag: give it alone (or " + name + "=true, " + name + "=false), got '" +
           value + "'";
  return name + ": '" + value + "' is not a valid value; expected " +
         (option != nullptr ? accepted_by(*option) : "its type in --help");
}

// Where a usage error sends the reader: the --help of the subcommand that was typed (its options
// are listed there), else flashlab's.
std::string see_help(const CLI::App& app) {
  for (const CLI::App* command : app.get_subcommands({}))
    if (command->parsed()) return "(see flashlab " + command->get_name() + " --help)";
  return "(see flashlab --help)";
}

int print_error(const std::string& message, int code) {
  using flashlab::cli::Palette;
  const Palette palette{flashlab::cli::colors_enabled(flashlab::cli::ColorMode::Auto, stderr)};
  std::fflush(stdout);
  std::fprintf(stderr, "flashlab: %s %s\n",
               palette.paint("error:", flashlab::cli::Tone::Bad).c_str(),
               one_line(message).c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace flashlab::cli;
  CLI::App app{
      "flashlab: FlashAttention side by side with standard attention -- the float64 "
      "reference, the IO-counting simulator and the CUDA kernels",
      "flashlab"};
  app.set_version_flag("--version", std::string("flashlab ") + flashlab_version());
  app.require_subcommand(1);
  // A repeated option takes its last value (`flashlab compare --seq 64 ... --seq 128`), as in
  // most command-line tools; subcommands inherit this.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.footer(
      "Examples:\n"
      "  flashlab compare                 the default problem: every implementation, one table\n"
      "  flashlab sweep --param N --values 256,1024,4096 --chart hbm.svg\n"
      "  flashlab trace --algorithm flash --seq 256 --head-dim 64 --sram 48KiB -o trace.json\n"
      "  flashlab info\n"
      "  flashlab validate --measured bench/results/validation_h200_ours.json\n"
      "Run 'flashlab SUBCOMMAND --help' for the options of each.");
  const std::vector<Subcommand> commands = {add_compare_command(app), add_sweep_command(app),
                                            add_trace_command(app), add_info_command(app),
                                            add_validate_command(app)};
  std::string names;  // "compare, sweep, trace, info, validate"
  for (const Subcommand& command : commands)
    names += (names.empty() ? "" : ", ") + command.app->get_name();
  // A first word that is neither an option nor a subcommand: say so, rather than CLI11's
  // "A subcommand is required".
  if (argc > 1 && argv[1][0] == '-') {
    const std::string first = argv[1];
    if (first != "-h" && first != "--help" && first != "--help-all" && first != "--version")
      return print_error("unknown option '" + first + "': flashlab takes a subcommand first: " +
                             names + " (see flashlab --help)",
                         kExitBadInput);
  }
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (const Subcommand& command : commands) known = known || command.app->check_name(argv[1]);
    if (!known)
      return print_error(std::string("unknown subcommand '") + argv[1] + "'; accepted: " + names,
                         kExitBadInput);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ConversionError& e) {
    return print_error(conversion_message(app, e.what()), kExitBadInput);
  } catch (const CLI::ParseError& e) {
    return print_error(std::string(e.what()) + " " + see_help(app), kExitBadInput);
  }
  try {
    for (const Subcommand& command : commands)
      if (command.app->parsed()) return command.run();
    return print_error("no subcommand; accepted: " + names, kExitBadInput);
  } catch (const flashlab::Error& e) {
    return print_error(e.what(), kExitBadInput);
  } catch (const std::bad_alloc&) {
    return print_error("out of memory: try a smaller problem", kExitInternal);
  } catch (const std::exception& e) {
    return print_error(std::string("internal error: ") + e.what(), kExitInternal);
  }
}
