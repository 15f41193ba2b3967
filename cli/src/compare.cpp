// compare: run every implementation, then measure each output against the float64 reference.
#include <flashlab/cli/compare.hpp>

#include <cmath>
#include <flashlab/cli/cuda_rows.hpp>
#include <flashlab/cli/runners.hpp>

namespace flashlab::cli {
namespace {

void check_pass(const std::optional<PassRun>& run, const std::optional<PassRun>& reference,
                double tolerance, RowCheck& row) {
  if (!run || !reference) return;
  for (const QuantityTensor& out : run->outputs) {
    const Tensor<double>* expected = find_output(*reference, out.quantity);
    if (expected == nullptr) continue;
    QuantityCheck c;
    c.quantity = out.quantity;
    c.error = error_metrics(out.values, *expected);
    c.pass = c.error.rel_l2 <= tolerance;  // false for NaN
    row.pass = row.pass && c.pass;
    row.checks.push_back(c);
  }
}

}  // namespace

double default_tolerance(ImplementationKind kind, DType dtype) {
  switch (kind) {
    case ImplementationKind::Reference:
      return 0.0;
    case ImplementationKind::Simulator:
      return 1e-4;
    case ImplementationKind::Cuda:
      return dtype == DType::Float32 ? 1e-4 : dtype == DType::Float16 ? 1e-2 : 5e-2;
  }
  return 0.0;
}

RowCheck check_against(const ImplementationRun& run, const ImplementationRun& reference,
                       double tolerance) {
  RowCheck row;
  row.tolerance = tolerance;
  if (!run.available) return row;
  check_pass(run.forward, reference.forward, tolerance, row);
  check_pass(run.backward, reference.backward, tolerance, row);
  return row;
}

CompareReport run_compare(const Problem& problem, const Inputs& inputs, bool backward,
                          std::optional<double> tolerance, std::string inputs_description,
                          const std::function<void(const std::string&)>& starting) {
  const auto announce = [&](const std::string& label) {
    if (starting) starting(label);
  };
  CompareReport report;
  report.problem = problem;
  report.backward = backward;
  report.inputs = std::move(inputs_description);
  announce("reference (float64)");
  report.runs.push_back(run_reference(problem, inputs, backward));
  for (simulator::Algorithm a : {simulator::Algorithm::Standard, simulator::Algorithm::Flash,
                                 simulator::Algorithm::Flash2}) {
    announce(std::string(simulator::to_string(a)) + " (simulator)");
    report.runs.push_back(run_simulated(problem, inputs, a, backward));
  }
  announce("cuda");
  for (ImplementationRun& run : run_cuda(problem, inputs, backward))
    report.runs.push_back(std::move(run));

  const ImplementationRun& reference = report.runs.front();
  for (const ImplementationRun& run : report.runs) {
    RowCheck row;
    if (run.kind != ImplementationKind::Reference)
      row = check_against(run, reference,
                          tolerance.value_or(default_tolerance(run.kind, problem.dtype)));
    report.pass = report.pass && row.pass;
    report.checks.push_back(std::move(row));
  }
  return report;
}

}  // namespace flashlab::cli
