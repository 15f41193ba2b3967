// CI's check that a grader bites: runs one grader binary with --gradescope, validates the
// results.json it wrote against Gradescope's format, and checks what the run should show:
//   --full                        full marks, exit 0 (the instructor solution)
//   --skeleton --tests N          every one of the N tests fails with a "TODO" message,
//                                 except those named by --passes (the untouched skeleton)
//   --caught "TEST|TEXT"          TEST failed and its message mentions TEXT (a mistake fixture);
//   --caught "TEST|TEXT|!OTHER"   ... and does not mention OTHER (a hint it must not give)
// (--arg X passes X to the grader before --gradescope, e.g. to run it through flashlab-grade.)
// Exit 0 when all holds, 1 with the reasons when not, 77 when the grader was skipped (no GPU).
#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace {

using nlohmann::json;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

bool contains(const std::string& text, const std::string& part) {
  return lower(text).find(lower(part)) != std::string::npos;
}

// Gradescope's results.json: top-level score/max_score, and tests with name, score, max_score,
// output, visibility. Returns the problems found.
std::vector<std::string> validate(const json& j) {
  std::vector<std::string> bad;
  auto number = [&](const json& obj, const char* key, const std::string& where) {
    if (!obj.contains(key) || !obj[key].is_number())
      bad.push_back(where + ": '" + key + "' must be a number");
  };
  if (!j.is_object()) return {"results.json is not a JSON object"};
  number(j, "score", "top level");
  number(j, "max_score", "top level");
  if (!j.contains("tests") || !j["tests"].is_array()) return {"'tests' must be an array"};
  const std::set<std::string> visibilities = {"hidden", "after_due_date", "after_published",
                                              "visible"};
  double score = 0, max_score = 0;
  for (const json& t : j["tests"]) {
    const std::string where = "test " + (t.contains("name") ? t["name"].dump() : std::string("?"));
    if (!t.is_object()) {
      bad.push_back("a test is not an object");
      continue;
    }
    if (!t.contains("name") || !t["name"].is_string() || t["name"].get<std::string>().empty())
      bad.push_back(where + ": 'name' must be a non-empty string");
    number(t, "score", where);
    number(t, "max_score", where);
    if (!t.contains("output") || !t["output"].is_string())
      bad.push_back(where + ": 'output' must be a string");
    if (!t.contains("visibility") || !visibilities.count(t.value("visibility", "")))
      bad.push_back(where +
                    ": 'visibility' must be one of hidden/after_due_date/after_published/visible");
    if (t.contains("status") && t["status"] != "passed" && t["status"] != "failed")
      bad.push_back(where + ": 'status' must be passed or failed");
    if (t.contains("score") && t["score"].is_number() && t.contains("max_score") &&
        t["max_score"].is_number()) {
      const double s = t["score"], m = t["max_score"];
      if (s < 0 || s > m) bad.push_back(where + ": score outside [0, max_score]");
      score += s;
      max_score += m;
    }
  }
  if (bad.empty() && (j["score"] != score || j["max_score"] != max_score))
    bad.push_back("top-level score/max_score are not the sums over the tests");
  return bad;
}

}  // namespace

int main(int argc, char** argv) {
  std::string grader, json_path, grader_args;
  bool full = false, skeleton = false;
  int expected_tests = -1;
  struct Caught {
    std::string test, text, not_text;
  };
  std::vector<Caught> caught;
  std::set<std::string> passes;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    const bool v = a + 1 < argc;
    if (arg == "--grader" && v)
      grader = argv[++a];
    else if (arg == "--json" && v)
      json_path = argv[++a];
    else if (arg == "--arg" && v)
      grader_args += " '" + std::string(argv[++a]) + "'";
    else if (arg == "--full")
      full = true;
    else if (arg == "--skeleton")
      skeleton = true;
    else if (arg == "--tests" && v)
      expected_tests = std::atoi(argv[++a]);
    else if (arg == "--passes" && v)
      passes.insert(argv[++a]);
    else if (arg == "--caught" && v) {
      const std::string spec = argv[++a];
      const size_t bar = spec.find('|'), bang = spec.find("|!");
      if (bar == std::string::npos || bar == bang) {
        std::fprintf(stderr, "--caught needs \"TEST|TEXT\" or \"TEST|TEXT|!OTHER\", got \"%s\"\n",
                     spec.c_str());
        return 2;
      }
      caught.push_back({spec.substr(0, bar), spec.substr(bar + 1, bang - bar - 1),
                        bang == std::string::npos ? "" : spec.substr(bang + 2)});
    } else {
      std::fprintf(
          stderr,
          "usage: lab_expect --grader BIN [--arg X]... --json OUT [--full | --skeleton --tests N "
          "[--passes TEST]... | --caught \"TEST|TEXT[|!OTHER]\"...]\n");
      return 2;
    }
  }
  if (grader.empty() || json_path.empty()) {
    std::fprintf(stderr, "--grader and --json are required\n");
    return 2;
  }
  std::remove(json_path.c_str());
  const std::string command =
      "'" + grader + "'" + grader_args + " --gradescope '" + json_path + "'";
  std::printf("$ %s\n", command.c_str());
  std::fflush(stdout);
  const int status = std::system(command.c_str());
  const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  std::vector<std::string> problems;
  json j;
  {
    std::ifstream in(json_path);
    if (!in)
      problems.push_back("the grader wrote no " + json_path);
    else {
      try {
        in >> j;
      } catch (const std::exception& e) {
        problems.push_back(std::string("results.json is not JSON: ") + e.what());
      }
    }
  }
  if (rc == 77) {
    std::printf("lab_expect: the grader was skipped (exit 77)\n");
    return 77;
  }
  if (problems.empty()) {
    const auto bad = validate(j);
    problems.insert(problems.end(), bad.begin(), bad.end());
  }
  if (problems.empty()) {
    const json& tests = j["tests"];
    auto find = [&](const std::string& name) -> const json* {
      for (const json& t : tests)
        if (t["name"] == name) return &t;
      return nullptr;
    };
    if (expected_tests >= 0 && int(tests.size()) != expected_tests)
      problems.push_back("expected " + std::to_string(expected_tests) + " tests, the grader ran " +
                         std::to_string(tests.size()));
    if (full) {
      if (rc != 0)
        problems.push_back("exit code " + std::to_string(rc) + ", expected 0 on full marks");
      if (j["score"] != j["max_score"])
        problems.push_back("score " + j["score"].dump() + " of " + j["max_score"].dump() +
                           ", expected full marks");
      for (const json& t : tests)
        if (t["score"] != t["max_score"])
          problems.push_back("test '" + t["name"].get<std::string>() +
                             "' failed: " + t["output"].get<std::string>());
    }
    if (skeleton || !caught.empty()) {
      if (rc != 1)
        problems.push_back("exit code " + std::to_string(rc) + ", expected 1 (not full marks)");
    }
    if (skeleton) {
      for (const json& t : tests) {
        const std::string name = t["name"];
        const bool passed = t["score"] == t["max_score"];
        if (passes.count(name)) {
          if (!passed)
            problems.push_back("test '" + name + "' should pass with the skeleton: " +
                               t["output"].get<std::string>());
        } else if (passed) {
          problems.push_back("test '" + name +
                             "' passes with the untouched skeleton: it gives points for nothing");
        } else if (!contains(t["output"], "TODO")) {
          problems.push_back("test '" + name + "' fails without saying which TODO: " +
                             t["output"].get<std::string>());
        }
      }
      for (const std::string& name : passes)
        if (!find(name)) problems.push_back("no test named '" + name + "'");
    }
    for (const Caught& c : caught) {
      const json* t = find(c.test);
      if (t == nullptr)
        problems.push_back("no test named '" + c.test + "'");
      else if ((*t)["score"] == (*t)["max_score"])
        problems.push_back("the mistake is NOT caught: test '" + c.test + "' passed");
      else if (!contains((*t)["output"], c.text))
        problems.push_back("test '" + c.test + "' failed but its message does not mention '" +
                           c.text + "': " + (*t)["output"].get<std::string>());
      else if (!c.not_text.empty() && contains((*t)["output"], c.not_text))
        problems.push_back("test '" + c.test + "' gives a hint it must not give here ('" +
                           c.not_text + "'): " + (*t)["output"].get<std::string>());
    }
  }
  for (const std::string& p : problems) std::printf("lab_expect: FAILED: %s\n", p.c_str());
  if (problems.empty()) std::printf("lab_expect: OK\n");
  return problems.empty() ? 0 : 1;
}
