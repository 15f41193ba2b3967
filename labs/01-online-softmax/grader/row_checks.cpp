// Lab 1's grader helpers (row_checks.hpp): plain float64 loops as the ground truth.
#include "row_checks.hpp"

#include <cmath>

#include <flashlab/labs/grading.hpp>

namespace flashlab::labs::lab1::grading {

State64 state64(const Row& x) {
  State64 s;
  for (float v : x) s.m = std::max(s.m, double(v));
  if (s.m != -INFINITY)
    for (float v : x) s.l += std::exp(double(v) - s.m);
  return s;
}

std::vector<double> softmax64(const Row& x) {
  const State64 s = state64(x);
  std::vector<double> p(x.size(), 0.0);
  if (s.m == -INFINITY) return p;
  for (size_t i = 0; i < x.size(); ++i) p[i] = std::exp(double(x[i]) - s.m) / s.l;
  return p;
}

std::vector<double> attention_row64(const Row& s, const Row& v, size_t d) {
  const std::vector<double> p = softmax64(s);
  std::vector<double> o(d, 0.0);
  for (size_t j = 0; j < s.size(); ++j)
    for (size_t e = 0; e < d; ++e) o[e] += p[j] * double(v[j * d + e]);
  return o;
}

Row random_row(std::mt19937& rng, size_t n, float stddev) {
  std::normal_distribution<float> normal(0.0f, stddev);
  Row x(n);
  for (float& v : x) v = normal(rng);
  return x;
}

std::string compare(const std::string& what, const Row& x, const std::vector<double>& expected,
                    const Row& got, double abs_tol, double rel_tol) {
  if (got.size() != expected.size())
    return what + " for x = " + fmt_list(x) + " returned " + std::to_string(got.size()) +
           " values, expected " + std::to_string(expected.size());
  if (const auto i = first_mismatch(expected, got, abs_tol, rel_tol))
    return what + " for x = " + fmt_list(x) + ": entry " + std::to_string(*i) + " expected " +
           fmt(expected[*i]) + ", got " + fmt(got[*i]) + " (all: " + fmt_list(got) + ")";
  return "";
}

bool same_state(RowState got, State64 expected) {
  auto near = [](double a, double b) { return std::abs(a - b) <= 1e-6 + 1e-4 * std::abs(b); };
  const bool m_ok = expected.m == -INFINITY ? got.m == -kInf : near(got.m, expected.m);
  return m_ok && near(got.l, expected.l);
}

std::string state_str(RowState s) {
  return "{m = " + fmt(s.m) + ", l = " + fmt(s.l) + "}";
}
std::string state_str(State64 s) {
  return "{m = " + fmt(s.m) + ", l = " + fmt(s.l) + "}";
}

StreamRun run_online_softmax(const Row& x, size_t block) {
  KeyBlocks keys(x, {}, 0, block);
  StreamRun r;
  r.out = online_softmax(keys);
  r.passes = keys.passes();
  return r;
}

StreamRun run_attention_row(const Row& s, const Row& v, size_t d, size_t block) {
  KeyBlocks keys(s, v, d, block);
  StreamRun r;
  r.out = online_attention_row(keys);
  r.passes = keys.passes();
  return r;
}

std::string check_attention_row(const Row& s, const Row& v, size_t d, size_t block, double abs_tol,
                                double rel_tol) {
  return compare("online_attention_row with block_size " + std::to_string(block) +
                     ", d = " + std::to_string(d),
                 s, attention_row64(s, v, d), run_attention_row(s, v, d, block).out, abs_tol,
                 rel_tol);
}

}  // namespace flashlab::labs::lab1::grading
