// What the CLI's own words point to exists: source files its comments name, and the validate
// command that bench/validate_model.sh tells the reader to run after a GPU session.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <utility>

#include "cli_runner.hpp"

using namespace flashlab::test;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = FLASHLAB_TEST_SOURCE_DIR;

// Every file of the source tree, as paths relative to it (build trees and hidden folders left out).
std::set<std::string> source_files() {
  std::set<std::string> files;
  for (auto it = fs::recursive_directory_iterator(kSource);
       it != fs::recursive_directory_iterator(); ++it) {
    const std::string name = it->path().filename().string();
    if (it->is_directory() && (name.rfind("build", 0) == 0 || name[0] == '.')) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) files.insert(fs::relative(it->path(), kSource).generic_string());
  }
  return files;
}

bool names_a_file(const std::set<std::string>& files, const std::string& name) {
  for (const std::string& f : files)
    if (f == name || (f.size() > name.size() && f.ends_with("/" + name))) return true;
  return false;
}

}  // namespace

TEST_CASE("every source file a comment in cli/ names exists") {
  const std::set<std::string> files = source_files();
  const std::regex file_name(R"([A-Za-z0-9_/.-]+\.(cpp|hpp|cu|cuh)\b)");
  int named = 0;
  for (const char* part : {"cli/src", "cli/include"})
    for (const auto& entry : fs::recursive_directory_iterator(kSource / part)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path());
      std::string line;
      for (int number = 1; std::getline(in, line); ++number) {
        const size_t comment = line.find("//");
        if (comment == std::string::npos) continue;
        const std::string text = line.substr(comment);
        for (std::sregex_iterator m(text.begin(), text.end(), file_name), end; m != end; ++m) {
          INFO(entry.path().string() << ":" << number << " names " << m->str());
          CHECK(names_a_file(files, m->str()));
          ++named;
        }
      }
    }
  CHECK(named > 0);
}

TEST_CASE("the validate command in bench/validate_model.sh's header runs as written") {
  // The script writes measured_ours.json and measured_torch.json to $OUT; the committed
  // measurements of the small problems (N <= 1024) stand in for them (the whole files take
  // minutes under the sanitizers, and the docs test runs them once).
  TempDir out;
  for (const auto& [committed, written] :
       {std::pair{"validation_h200_ours.json", "measured_ours.json"},
        std::pair{"validation_h200_torch.json", "measured_torch.json"}}) {
    nlohmann::json small = nlohmann::json::array();
    for (const nlohmann::json& r :
         nlohmann::json::parse(read_file((kSource / "bench/results" / committed).string())))
      if (r["N"].get<int64_t>() <= 1024) small.push_back(r);
    REQUIRE(!small.empty());
    std::ofstream(out.path(written)) << small.dump();
  }
  std::ifstream script(kSource / "bench/validate_model.sh");
  std::string line, command;
  while (std::getline(script, line) && line.rfind("#", 0) == 0)
    if (const size_t at = line.find("flashlab validate "); at != std::string::npos)
      command = line.substr(at + std::string("flashlab ").size());
  REQUIRE(!command.empty());
  for (size_t at = command.find("$OUT"); at != std::string::npos; at = command.find("$OUT"))
    command.replace(at, 4, out.path());
  const CliResult r = run_flashlab(command);
  INFO("flashlab " << command << "\n" << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("measured calls") != std::string::npos);
}
