// grade_all: a pool of worker threads, each taking the next student and grading it in its own
// scratch folder; the results in student order whatever order they finish in.
#include "batch.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <ostream>
#include <thread>

#include <flashlab/core/error.hpp>

namespace flashlab::labs::submit {

namespace fs = std::filesystem;

namespace {

// A folder name made of safe characters, for the scratch build of one student.
std::string safe_name(const std::string& text) {
  std::string s;
  for (const char c : text)
    s += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
  return s;
}

std::string number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

}  // namespace

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string q = "\"";
  for (const char c : text) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::vector<std::string> list_students(const std::string& dir) {
  require(fs::is_directory(dir), "--submissions: no folder " + dir);
  std::vector<std::string> students;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.rfind('.', 0) != 0 && name != "__MACOSX")
      students.push_back(name);
  }
  std::sort(students.begin(), students.end());
  require(!students.empty(), "--submissions: " + dir + " has no subfolders (one per student)");
  return students;
}

std::vector<Result> grade_all(const Lab& lab, const BatchOptions& o, std::ostream& progress) {
  const std::vector<std::string> students = list_students(o.dir);
  for (const char* sub : {"reports", "results", "work"})
    fs::create_directories(fs::path(o.out) / sub);
  std::vector<Result> results(students.size());
  std::atomic<size_t> next{0}, done{0};
  std::mutex print;
  auto worker = [&] {
    for (size_t k; (k = next++) < students.size();) {
      const std::string& s = students[k];
      const fs::path work = fs::path(o.out) / "work" / (std::to_string(k) + "_" + safe_name(s));
      try {
        results[k] = grade(lab, s, (fs::path(o.dir) / s).string(), work.string(),
                           (fs::path(o.out) / "reports" / (s + ".txt")).string(),
                           (fs::path(o.out) / "results" / (s + ".json")).string(), o.limits);
      } catch (
          const std::exception& e) {  // the grading's fault (disk full, ...), not the student's
        results[k].student = s;
        results[k].max_score = lab.max_score;
        results[k].status = Result::Status::NotGraded;
        results[k].reason = e.what();
      }
      std::error_code ignored;
      if (!o.keep) fs::remove_all(work, ignored);
      const Result& r = results[k];
      const std::lock_guard<std::mutex> lock(print);
      progress << "[" << ++done << "/" << students.size() << "] " << s << ": " << number(r.score)
               << "/" << r.max_score << "  " << to_string(r.status)
               << (r.reason.empty() ? "" : ": " + r.reason) << "  (build "
               << number(r.build_seconds) << " s, grade " << number(r.grade_seconds) << " s)\n"
               << std::flush;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, o.jobs); ++t) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
  if (!o.keep) fs::remove_all(fs::path(o.out) / "work");
  return results;
}

void write_csv(const Lab& lab, const std::vector<Result>& results, const std::string& path) {
  std::ofstream out(path);
  require(bool(out), "cannot write " + path);
  out << "student,score,max_score,status,reason";
  for (size_t k = 0; k < lab.test_names.size(); ++k)
    out << "," << csv_field(lab.test_names[k] + " (" + std::to_string(lab.test_points[k]) + ")");
  out << "\n";
  for (const Result& r : results) {
    out << csv_field(r.student) << "," << number(r.score) << "," << r.max_score << ","
        << csv_field(to_string(r.status)) << "," << csv_field(r.reason);
    for (size_t k = 0; k < lab.test_names.size(); ++k)
      out << "," << (k < r.test_scores.size() ? number(r.test_scores[k]) : "0");
    out << "\n";
  }
  require(out.good(), "cannot write " + path);
}

}  // namespace flashlab::labs::submit
