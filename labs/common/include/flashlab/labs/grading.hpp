// What every lab grader shares: LAB_TEST (a doctest test case worth some points), the answers
// file of the handout's questions, and helpers that turn a wrong result into a helpful message
// (expected vs got on a small case). runner.cpp runs the tests and prints the score.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <flashlab/labs/lab_info.hpp>
#include <flashlab/labs/todo.hpp>

// A graded test: a doctest test case whose description holds its points. Test names must not
// contain ',' (doctest would split them); the runner refuses such names.
#define FLASHLAB_LAB_TEST(name, points) TEST_CASE(name* doctest::description(#points))

// Fails the current test with `message` (any expression that makes a std::string).
#define FLASHLAB_LAB_FAIL(message) FAIL(std::string(message))

// Fails the current test with `message` unless it is empty (helpers return "" for "correct").
#define FLASHLAB_LAB_REQUIRE_OK(expr)                \
  do {                                               \
    const std::string flashlab_why_ = (expr);        \
    if (!flashlab_why_.empty()) FAIL(flashlab_why_); \
  } while (0)

namespace flashlab::labs {

// A check that runs (in a child process) before any test; a non-empty reason skips the whole
// grader with exit code 77 (lab 5 without a GPU). Register with a namespace-scope
// `const bool x = register_precondition(&check);`.
using PreconditionCheck = std::string (*)();
bool register_precondition(PreconditionCheck check);

// The answers file in use: lab_info().answers_path unless `--answers FILE` replaced it.
const std::string& answers_path();
void set_answers_path(std::string path);

// "key = value" lines; '#' starts a comment. A missing file or key reads as blank.
std::map<std::string, std::string> read_answers(const std::string& path);

// "" when the answer to `key` is within rel_tol of `expected` (or within abs_tol), else a
// message: blank (a TODO), not a number, or wrong, followed by `explain` (how to find it).
std::string check_answer(const std::string& key, double expected, double rel_tol,
                         const std::string& explain, double abs_tol = 0.0);
// Checks several keys; the message of the first wrong one, or "".
struct Answer {
  std::string key;
  double expected;
  double rel_tol;
  std::string explain;
};
std::string check_answers(const std::vector<Answer>& answers);

// "N_q=37, N_k=29, d=8, B_r=8, B_c=5[, causal]": a tiled attention problem in a message.
std::string describe_problem(int64_t nq, int64_t nk, int64_t d, int64_t Br, int64_t Bc,
                             bool causal);

// Short number formatting for messages ("1.5", "nan", "-inf", "0.000123").
std::string fmt(double x);
// "[a, b, c, ...]" with at most `max_items` entries.
std::string fmt_list(std::span<const float> v, size_t max_items = 8);
std::string fmt_list(std::span<const double> v, size_t max_items = 8);

// The first index where |got - expected| > abs_tol + rel_tol |expected| (NaN never matches;
// equal infinities match), or nullopt when all match. Sizes must agree.
std::optional<size_t> first_mismatch(std::span<const double> expected, std::span<const float> got,
                                     double abs_tol, double rel_tol = 0.0);
// Largest |got - expected| (infinite when a NaN appears or infinities differ).
double max_abs_error(std::span<const double> expected, std::span<const float> got);

}  // namespace flashlab::labs
