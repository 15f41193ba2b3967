// The grader's build commands from Ninja, and the same commands for a submission's files.
#include "recipe.hpp"

#include <cstdio>
#include <sstream>

#include <flashlab/core/error.hpp>

#include "process.hpp"

namespace flashlab::labs::submit {

namespace {

// Every occurrence of `from` in `text` replaced by `to`; the number of replacements.
int replace_all(std::string& text, const std::string& from, const std::string& to) {
  int n = 0;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
    ++n;
  }
  return n;
}

// The word after `flag` (" -o " / " -c ") in a command, or "".
std::string word_after(const std::string& command, const std::string& flag) {
  const size_t at = command.find(flag);
  if (at == std::string::npos) return "";
  const size_t start = at + flag.size();
  return command.substr(start, command.find(' ', start) - start);
}

}  // namespace

Recipe read_recipe(const std::string& ninja_commands, const std::vector<std::string>& sources) {
  std::vector<std::string> lines;
  std::istringstream in(ninja_commands);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  require(!lines.empty(), "ninja lists no commands for the lab's grader");
  Recipe r;
  r.link = lines.back();
  r.exe = word_after(r.link, " -o ");
  require(!r.exe.empty(), "the grader's link command has no -o: " + r.link);
  for (const std::string& source : sources) {
    Recipe::Compile c;
    c.source = source;
    for (const std::string& line : lines) {
      const std::string tail = " -c " + source;
      const size_t at = line.find(tail);
      if (at != std::string::npos &&
          (at + tail.size() == line.size() || line[at + tail.size()] == ' ')) {
        c.command = line;
        break;
      }
    }
    require(!c.command.empty(), "no compile command for " + source + " in the grader's build");
    c.object = word_after(c.command, " -o ");
    require(!c.object.empty() && r.link.find(" " + c.object + " ") != std::string::npos,
            "the object of " + source + " is not in the grader's link command");
    r.compiles.push_back(c);
  }
  return r;
}

Recipe load_recipe(const std::string& ninja, const std::string& build_dir,
                   const std::string& target, const std::vector<std::string>& sources) {
  const std::string command =
      shell_quote(ninja) + " -C " + shell_quote(build_dir) + " -t commands " + shell_quote(target);
  FILE* pipe = popen(command.c_str(), "r");
  require(pipe != nullptr, "cannot run " + command);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  const int status = pclose(pipe);
  require(status == 0, "`" + command + "` failed: is " + build_dir +
                           " a Ninja build (cmake -G Ninja, as the presets configure)?");
  return read_recipe(out, sources);
}

std::string compile_command(const Recipe::Compile& c, const std::string& source,
                            const std::string& object) {
  std::string command = c.command;
  replace_all(command, " -c " + c.source, " -c " + shell_quote(source));
  // -o, -MT and the depfile (-MF object.d) all name the object.
  replace_all(command, c.object, shell_quote(object));
  return command;
}

std::string link_command(const Recipe& r, const std::vector<std::string>& objects,
                         const std::string& exe) {
  std::string command = r.link;
  for (size_t k = 0; k < r.compiles.size() && k < objects.size(); ++k)
    replace_all(command, " " + r.compiles[k].object + " ", " " + shell_quote(objects[k]) + " ");
  replace_all(command, " -o " + r.exe + " ", " -o " + shell_quote(exe) + " ");
  return command;
}

}  // namespace flashlab::labs::submit
