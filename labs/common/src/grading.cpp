// The graders' helpers: the answers file and the formatting of expected-vs-got messages.
#include <flashlab/labs/grading.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace flashlab::labs {
namespace {

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}

std::string& answers_override() {
  static std::string path;
  return path;
}

bool close(double expected, double got, double abs_tol, double rel_tol) {
  if (std::isnan(got) || std::isnan(expected)) return false;
  if (std::isinf(expected) || std::isinf(got)) return expected == got;
  return std::abs(got - expected) <= abs_tol + rel_tol * std::abs(expected);
}

template <typename T>
std::string list_of(std::span<const T> v, size_t max_items) {
  std::string s = "[";
  for (size_t i = 0; i < v.size() && i < max_items; ++i) s += (i ? ", " : "") + fmt(double(v[i]));
  if (v.size() > max_items) s += ", ... (" + std::to_string(v.size()) + " values)";
  return s + "]";
}

}  // namespace

const std::string& answers_path() {
  static const std::string compiled_in = lab_info().answers_path;
  return answers_override().empty() ? compiled_in : answers_override();
}

void set_answers_path(std::string path) {
  answers_override() = std::move(path);
}

std::map<std::string, std::string> read_answers(const std::string& path) {
  std::map<std::string, std::string> values;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    values[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return values;
}

std::string check_answer(const std::string& key, double expected, double rel_tol,
                         const std::string& explain, double abs_tol) {
  const auto values = read_answers(answers_path());
  const auto it = values.find(key);
  if (it == values.end() || it->second.empty())
    return "TODO not done yet: '" + key + "' is blank in " + answers_path() + " (write `" + key +
           " = <number>`). " + explain;
  char* end = nullptr;
  const double got = std::strtod(it->second.c_str(), &end);
  if (end == it->second.c_str() || trim(end) != "")
    return "'" + key + " = " + it->second + "' in " + answers_path() +
           " is not a number (write digits only, e.g. 1441792 or 0.3125). " + explain;
  if (close(expected, got, abs_tol, rel_tol)) return "";
  return "'" + key + "' = " + it->second + " is not right (the simulator/grader computes " +
         fmt(expected) + "). " + explain;
}

std::string check_answers(const std::vector<Answer>& answers) {
  for (const Answer& a : answers) {
    std::string why = check_answer(a.key, a.expected, a.rel_tol, a.explain);
    if (!why.empty()) return why;
  }
  return "";
}

std::string describe_problem(int64_t nq, int64_t nk, int64_t d, int64_t Br, int64_t Bc,
                             bool causal) {
  return "N_q=" + std::to_string(nq) + ", N_k=" + std::to_string(nk) + ", d=" + std::to_string(d) +
         ", B_r=" + std::to_string(Br) + ", B_c=" + std::to_string(Bc) + (causal ? ", causal" : "");
}

std::string fmt(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  if (x == 0) return "0";  // also -0, which reads as a sign error
  char buf[32];
  if (x == std::floor(x) && std::abs(x) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", x);  // counts and byte totals: every digit
  else
    std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

std::string fmt_list(std::span<const float> v, size_t max_items) {
  return list_of(v, max_items);
}
std::string fmt_list(std::span<const double> v, size_t max_items) {
  return list_of(v, max_items);
}

std::optional<size_t> first_mismatch(std::span<const double> expected, std::span<const float> got,
                                     double abs_tol, double rel_tol) {
  if (expected.size() != got.size()) return 0;
  for (size_t i = 0; i < expected.size(); ++i)
    if (!close(expected[i], double(got[i]), abs_tol, rel_tol)) return i;
  return std::nullopt;
}

double max_abs_error(std::span<const double> expected, std::span<const float> got) {
  if (expected.size() != got.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double e = expected[i], g = double(got[i]);
    if (std::isnan(g) || std::isnan(e)) return INFINITY;
    if (std::isinf(e) || std::isinf(g)) {
      if (e != g) return INFINITY;
      continue;
    }
    worst = std::max(worst, std::abs(g - e));
  }
  return worst;
}

}  // namespace flashlab::labs
