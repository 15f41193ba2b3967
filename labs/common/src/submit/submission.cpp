// Grading one submission: find its files, build its grader from the build's own commands in a
// scratch folder, run it under a time limit, and turn what happened into a score and a reason.
#include "submission.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include <flashlab/core/error.hpp>

#include "process.hpp"

namespace flashlab::labs::submit {

namespace fs = std::filesystem;

namespace {

bool is_header(const fs::path& p) {
  const std::string e = p.extension().string();
  return e == ".hpp" || e == ".h" || e == ".cuh";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The command's whole output (stdout and stderr) and its exit status.
std::pair<std::string, int> capture(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  require(pipe != nullptr, "cannot run " + command);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  const int status = pclose(pipe);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : 128};
}

// The first line of a compiler log that says "error": the one a student should read first.
std::string first_error(const std::string& log) {
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (line.find("error") != std::string::npos)
      return line.size() > 240 ? line.substr(0, 237) + "..." : line;
  return "";
}

// The build log with the scratch folders left out of file names ("io_aware.cpp:8:3: error"),
// as given to the compiler or as ccache rewrites them (relative to the build directory).
void tidy_log(const std::string& log_path, const fs::path& work, const std::string& build_dir) {
  std::string text = read_file(log_path);
  for (const char* sub : {"src", "obj"}) {
    const fs::path dir = work / sub;
    for (const std::string& prefix :
         {dir.string() + "/", fs::path(dir).lexically_relative(build_dir).string() + "/"})
      for (size_t at; (at = text.find(prefix)) != std::string::npos;) text.erase(at, prefix.size());
  }
  std::ofstream(log_path, std::ios::trunc) << text;
}

// Path depth, for preferring the file nearest the top of a submission folder.
size_t depth(const fs::path& p) {
  return size_t(std::distance(p.begin(), p.end()));
}

}  // namespace

void write_zero_results(const Lab& lab, const std::string& path, const std::string& output) {
  nlohmann::json j;
  j["score"] = 0;
  j["max_score"] = lab.max_score;
  j["output"] = output;
  j["visibility"] = "visible";
  j["stdout_visibility"] = "visible";
  j["tests"] = nlohmann::json::array();
  for (size_t k = 0; k < lab.test_names.size(); ++k)
    j["tests"].push_back({{"name", lab.test_names[k]},
                          {"score", 0},
                          {"max_score", lab.test_points[k]},
                          {"status", "failed"},
                          {"output", "not graded: " + output.substr(0, output.find('\n'))},
                          {"visibility", "visible"}});
  std::ofstream out(path);
  out << j.dump(2) << "\n";
}

const char* to_string(Result::Status s) {
  switch (s) {
    case Result::Status::Graded:
      return "graded";
    case Result::Status::DoesNotCompile:
      return "does not compile";
    case Result::Status::DoesNotLink:
      return "does not link";
    case Result::Status::Crashed:
      return "crashed";
    case Result::Status::TimedOut:
      return "timed out";
    case Result::Status::NotGraded:
      return "not graded";
  }
  return "?";
}

Lab load_lab(const std::string& lab_source_dir, const std::string& id, const std::string& ninja,
             const std::string& build_dir) {
  Lab lab;
  lab.id = id;
  const fs::path student = fs::path(lab_source_dir) / "student";
  require(fs::is_directory(student), "no folder " + student.string());
  for (const auto& entry : fs::directory_iterator(student))
    if (entry.is_regular_file() && !is_header(entry.path()))
      lab.sources.push_back(fs::absolute(entry.path()).string());
  std::sort(lab.sources.begin(), lab.sources.end());
  require(!lab.sources.empty(), "no source file in " + student.string());
  lab.answers = fs::absolute(fs::path(lab_source_dir) / "answers.txt").string();
  lab.build_dir = fs::absolute(build_dir).string();
  lab.recipe = load_recipe(ninja, lab.build_dir, "grade_" + id + "_student", lab.sources);
  lab.skeleton_grader = (fs::path(build_dir) / lab.recipe.exe).string();
  require(fs::exists(lab.skeleton_grader),
          lab.skeleton_grader +
              " is not built: a submission's grader reuses its objects; build "
              "it first (cmake --build " +
              build_dir + " --target grade_" + id + "_student)");

  const auto [listing, code] = capture(shell_quote(lab.skeleton_grader) + " --list");
  if (code == 77) {
    const size_t at = listing.find("SKIPPED: ");
    throw Error("lab " + id + " cannot be graded on this machine: " +
                (at == std::string::npos ? listing : listing.substr(at + 9)));
  }
  require(code == 0, "`" + lab.skeleton_grader + " --list` failed: " + listing);
  std::istringstream in(listing);
  for (std::string line; std::getline(in, line);) {
    int points = 0, used = 0;
    if (std::sscanf(line.c_str(), " %d  %n", &points, &used) == 1 && used > 0 && points > 0 &&
        line[0] == ' ') {
      lab.test_names.push_back(line.substr(size_t(used)));
      lab.test_points.push_back(points);
      lab.max_score += points;
    }
  }
  require(!lab.test_names.empty(), "the grader listed no tests: " + listing);
  return lab;
}

Files find_files(const Lab& lab, const std::string& submission) {
  Files f;
  f.sources = lab.sources;
  f.answers = lab.answers;
  std::vector<std::string> wanted;
  for (const std::string& s : lab.sources) wanted.push_back(fs::path(s).filename().string());
  std::map<std::string, std::vector<fs::path>> found;  // file name -> where
  const fs::path root(submission);
  if (fs::is_regular_file(root)) {
    const std::string name = root.filename().string();
    const bool known =
        name == "answers.txt" || std::find(wanted.begin(), wanted.end(), name) != wanted.end();
    if (known)
      found[name].push_back(root);
    else if (wanted.size() == 1 && !is_header(root)) {
      found[wanted[0]].push_back(root);
      f.notes.push_back("graded " + name + " as " + wanted[0]);
    } else {
      std::string names;
      for (const std::string& w : wanted) names += w + ", ";
      throw Error(submission + " is not one of lab " + lab.id + "'s files (" + names +
                  "answers.txt)");
    }
  } else {
    require(fs::is_directory(root), "no file or folder " + submission);
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
         ++it) {
      const std::string name = it->path().filename().string();
      if (it->is_directory() && (name.rfind('.', 0) == 0 || name == "__MACOSX")) {
        it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file()) found[name].push_back(it->path());
    }
  }
  auto pick = [&](const std::string& name) -> std::string {
    auto it = found.find(name);
    if (it == found.end()) return "";
    auto& paths = it->second;
    std::sort(paths.begin(), paths.end(), [](const fs::path& a, const fs::path& b) {
      return depth(a) != depth(b) ? depth(a) < depth(b) : a < b;
    });
    if (paths.size() > 1)
      f.notes.push_back(std::to_string(paths.size()) + " files named " + name + "; graded " +
                        paths[0].string());
    return paths[0].string();
  };
  for (size_t k = 0; k < wanted.size(); ++k) {
    const std::string p = pick(wanted[k]);
    if (p.empty()) {
      f.notes.push_back("not submitted: " + wanted[k] + " (the skeleton's is graded)");
    } else {
      f.sources[k] = fs::absolute(p).string();
      f.any_source = true;
    }
  }
  const std::string answers = pick("answers.txt");
  if (answers.empty())
    f.notes.push_back("not submitted: answers.txt (the skeleton's blank one is graded)");
  else
    f.answers = fs::absolute(answers).string();
  return f;
}

std::string build(const Lab& lab, const Files& files, const std::string& work_dir,
                  const std::string& log_path, double compile_s, std::string& exe,
                  double& seconds) {
  const fs::path work = fs::absolute(work_dir);  // the commands run in the build directory
  fs::create_directories(work / "src");
  fs::create_directories(work / "obj");
  std::ofstream(log_path, std::ios::trunc).close();
  std::vector<std::string> objects;
  seconds = 0;
  for (size_t k = 0; k < lab.recipe.compiles.size(); ++k) {
    // A copy beside nothing else: the lab's own headers are found on the include path, never a
    // header the student submitted next to the source.
    const std::string name = fs::path(lab.sources[k]).filename().string();
    const fs::path source = work / "src" / name;
    fs::copy_file(files.sources[k], source, fs::copy_options::overwrite_existing);
    objects.push_back((work / "obj" / (name + ".o")).string());
    const std::string command =
        compile_command(lab.recipe.compiles[k], fs::absolute(source).string(), objects.back());
    const CommandResult r = run_command(command, lab.build_dir, log_path, compile_s, true);
    seconds += r.seconds;
    tidy_log(log_path, work, lab.build_dir);
    if (!r.ok()) {
      const std::string error = first_error(read_file(log_path));
      return name + " does not compile" +
             (r.status == CommandResult::Status::Exited && !error.empty()
                  ? ": " + error
                  : " (the compiler " + describe(r, compile_s) + ")");
    }
  }
  exe = (work / "grade").string();
  const CommandResult r =
      run_command(link_command(lab.recipe, objects, exe), lab.build_dir, log_path, compile_s, true);
  seconds += r.seconds;
  tidy_log(log_path, work, lab.build_dir);
  if (!r.ok()) {
    const std::string error = first_error(read_file(log_path));
    return "does not link" + (error.empty() ? " (" + describe(r, compile_s) + ")" : ": " + error);
  }
  return "";
}

Result grade(const Lab& lab, const std::string& student, const std::string& submission,
             const std::string& work_dir, const std::string& report_path,
             const std::string& gradescope_path, const Limits& limits) {
  Result r;
  r.student = student;
  r.max_score = lab.max_score;
  r.report = report_path;
  r.gradescope = gradescope_path;
  fs::create_directories(work_dir);
  std::ofstream report(report_path);
  report << "student: " << student << "\nsubmission: " << submission << "\n";
  auto zero = [&](Result::Status status, const std::string& reason, const std::string& log) {
    r.status = status;
    r.reason = reason;
    report << "status: " << to_string(status) << ": " << reason << "\n\n" << log;
    write_zero_results(lab, gradescope_path, reason + "\n" + log.substr(0, 20000));
    return r;
  };

  Files files;
  try {
    files = find_files(lab, submission);
  } catch (const Error& e) {
    return zero(Result::Status::DoesNotCompile, e.what(), "");
  }
  for (const std::string& note : files.notes) report << "note: " << note << "\n";
  std::string notes;
  for (const std::string& note : files.notes) notes += (notes.empty() ? "" : "; ") + note;

  const std::string build_log = (fs::path(work_dir) / "build.log").string();
  std::string exe;
  const std::string why =
      build(lab, files, work_dir, build_log, limits.compile_s, exe, r.build_seconds);
  if (!why.empty())
    return zero(why.find("does not link") == 0 ? Result::Status::DoesNotLink
                                               : Result::Status::DoesNotCompile,
                why, read_file(build_log));

  // exec: the grader itself is the process waited for, so a crash is seen as its signal.
  std::string command =
      "FLASHLAB_GRADE_RERUN=" +
      shell_quote("flashlab-grade " + lab.id + " --submission " + shell_quote(submission)) +
      " exec " + shell_quote(exe) + " --answers " + shell_quote(files.answers) + " --gradescope " +
      shell_quote(fs::absolute(gradescope_path).string());
  if (limits.test_timeout_s > 0) command += " --timeout " + std::to_string(limits.test_timeout_s);
  std::remove(gradescope_path.c_str());
  const std::string grader_log = (fs::path(work_dir) / "grader.log").string();
  const CommandResult run = run_command(command, work_dir, grader_log, limits.grader_s);
  r.grade_seconds = run.seconds;
  const std::string output = read_file(grader_log);
  if (run.status == CommandResult::Status::TimedOut) {
    // What the grader had printed says whether tests were running (each under --timeout) or
    // none had finished (the code never let the grader start).
    size_t tests_done = 0, tests_timed_out = 0;
    for (size_t at = output.find("\n  "); at != std::string::npos; at = output.find("\n  ", at + 1))
      tests_done +=
          output.compare(at + 3, 4, "PASS") == 0 || output.compare(at + 3, 4, "FAIL") == 0;
    for (size_t at = output.find("timed out after"); at != std::string::npos;
         at = output.find("timed out after", at + 1))
      ++tests_timed_out;
    return zero(Result::Status::TimedOut,
                "the grader did not finish: " + describe(run, limits.grader_s) +
                    (tests_done == 0 ? " before any test finished"
                                     : ", with " + std::to_string(tests_done) + " tests done (" +
                                           std::to_string(tests_timed_out) + " of them timed out)"),
                output);
  }
  if (run.status != CommandResult::Status::Exited || (run.code != 0 && run.code != 1))
    return zero(Result::Status::Crashed,
                "the grader did not report a score: " + describe(run, limits.grader_s), output);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(gradescope_path));
    r.score = j.at("score").get<double>();
  } catch (const std::exception& e) {
    return zero(Result::Status::Crashed,
                std::string("the grader wrote no usable results.json: ") + e.what(), output);
  }
  r.test_scores.assign(lab.test_names.size(), 0.0);
  int timed_out = 0, crashed = 0;
  for (const auto& t : j.value("tests", nlohmann::json::array())) {
    for (size_t k = 0; k < lab.test_names.size(); ++k)
      if (t.value("name", "") == lab.test_names[k]) r.test_scores[k] = t.value("score", 0.0);
    const std::string out = t.value("output", "");
    timed_out += out.rfind("timed out", 0) == 0;
    crashed += out.rfind("crashed", 0) == 0;
  }
  // The runner's messages for a test that hung or crashed (runner.cpp, run_isolated).
  if (timed_out > 0)
    notes += (notes.empty() ? "" : "; ") + std::to_string(timed_out) + " tests timed out";
  if (crashed > 0)
    notes += (notes.empty() ? "" : "; ") + std::to_string(crashed) + " tests crashed";
  r.reason = notes;
  report << "status: graded\n\n" << output;
  return r;
}

}  // namespace flashlab::labs::submit
