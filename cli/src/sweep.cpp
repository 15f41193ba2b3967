// sweep: the values of the swept parameter, and the counting-only simulation of each point.
#include <flashlab/cli/sweep.hpp>

#include <cmath>
#include <cstdio>
#include <flashlab/cli/runners.hpp>
#include <flashlab/cli/units.hpp>
#include <flashlab/simulator/model/io_formulas.hpp>
#include <flashlab/simulator/simulate.hpp>
#include <sstream>

namespace flashlab::cli {
namespace {

std::string accepted(SweepParam p) {
  switch (p) {
    case SweepParam::N:
      return "N takes sequence lengths >= 1, e.g. 256,1024,4096";
    case SweepParam::HeadDim:
      return "d takes head dims >= 1, e.g. 32,64,128";
    case SweepParam::Sram:
      return "sram takes byte sizes, e.g. 16KiB,64KiB,100KB";
    case SweepParam::Block:
      return "block takes tile sizes Br = Bc >= 1, e.g. 16,32,64";
    case SweepParam::Density:
      return "density takes block densities in (0, 1], e.g. 0.1,0.5,1";
  }
  return "";
}

SweepValue parse_value(SweepParam p, const std::string& text) {
  const std::string bad = "--values: '" + text + "' is not a valid value; " + accepted(p);
  if (p == SweepParam::Sram) {
    const int64_t bytes = parse_byte_size(text, "--values");
    require(bytes >= 1, bad);
    return {double(bytes), format_bytes(double(bytes))};
  }
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  require(!text.empty() && end == text.c_str() + text.size() && std::isfinite(v), bad);
  if (p == SweepParam::Density) {
    require(v > 0.0 && v <= 1.0, bad);
    char label[32];
    std::snprintf(label, sizeof label, "%g", v);
    return {v, label};
  }
  require(v >= 1 && v <= double(kMaxDimension) && v == std::floor(v), bad);
  return {v, std::to_string(int64_t(v))};
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> parts;
  std::stringstream in(list);
  std::string part;
  while (std::getline(in, part, ',')) {
    while (!part.empty() && part.front() == ' ') part.erase(part.begin());
    while (!part.empty() && part.back() == ' ') part.pop_back();
    parts.push_back(part);
  }
  return parts;
}

std::string default_range(SweepParam p) {
  switch (p) {
    case SweepParam::N:
      return "256,512,1024,2048,4096,8192,16384";
    case SweepParam::HeadDim:
      return "16,32,64,128,256";
    case SweepParam::Sram:
      return "16KiB,32KiB,64KiB,128KiB,256KiB";
    case SweepParam::Block:
      return "16,32,64,128,256";
    case SweepParam::Density:
      return "0.0625,0.125,0.25,0.5,1";
  }
  return "";
}

void scale(simulator::IoStats& s, int64_t factor) {
  for (simulator::TensorTraffic& t : s.tensors) {
    t.bytes_read *= factor;
    t.bytes_written *= factor;
    t.reads *= factor;
    t.writes *= factor;
  }
  s.matmul_flops *= factor;
  s.exp_ops *= factor;
  s.other_flops *= factor;
}

SweepCell run_cell(const Problem& problem, simulator::Algorithm algorithm, bool backward) {
  SweepCell cell;
  if (backward && algorithm == simulator::Algorithm::Flash2) {
    cell.reason = "the simulator has no FlashAttention-2 backward";
    return cell;
  }
  simulator::SimConfig c = sim_config(problem, algorithm, backward);
  c.counting_only = true;
  c.record_trace = false;
  c.shape.batch = c.shape.heads = 1;
  simulator::WorkRecord work;  // of the one head simulated; every head repeats it
  try {
    if (backward) {
      const simulator::SimBackward b =
          simulator::simulate_backward(c, nullptr, nullptr, nullptr, nullptr);
      cell.stats = b.stats;
      cell.tiles = b.tiles;
      work = b.work;
    } else {
      const simulator::SimForward f = simulator::simulate_forward(c, nullptr, nullptr, nullptr);
      cell.stats = f.stats;
      cell.tiles = f.tiles;
      work = f.work;
    }
  } catch (const Error& e) {
    cell.reason = e.what();
    return cell;
  }
  const int64_t heads = problem.shape.batch * problem.shape.heads;
  scale(cell.stats, heads);
  const simulator::IoFormula formula = simulator::io_formula(c, backward);
  cell.formula_bytes = formula.total_bytes() * heads;
  cell.theta = formula.theta;
  cell.theta_elements = formula.theta_elements * double(heads);
  cell.available = true;
  work.heads = heads;
  cell.prediction = simulator::predict_runtime(work, problem.gpu);
  cell.extra_memory_bytes = extra_memory_bytes(cell.stats, problem.shape);
  return cell;
}

}  // namespace

SweepParam parse_sweep_param(const std::string& text) {
  if (text == "N" || text == "n" || text == "seq") return SweepParam::N;
  if (text == "d" || text == "head-dim") return SweepParam::HeadDim;
  if (text == "sram" || text == "M") return SweepParam::Sram;
  if (text == "block") return SweepParam::Block;
  if (text == "density") return SweepParam::Density;
  throw Error("--param must be N, d, sram, block or density, got '" + text + "'");
}

std::string sweep_param_name(SweepParam p) {
  switch (p) {
    case SweepParam::N:
      return "N";
    case SweepParam::HeadDim:
      return "d";
    case SweepParam::Sram:
      return "sram";
    case SweepParam::Block:
      return "block";
    case SweepParam::Density:
      return "density";
  }
  return "?";
}

std::vector<SweepValue> sweep_values(SweepParam param, const std::string& values,
                                     const std::string& from, const std::string& to,
                                     double factor) {
  std::vector<SweepValue> out;
  if (!values.empty() || (from.empty() && to.empty())) {
    require(from.empty() && to.empty(), "--values and --from/--to exclude each other");
    for (const std::string& v : split(values.empty() ? default_range(param) : values))
      out.push_back(parse_value(param, v));
  } else {
    require(!from.empty() && !to.empty(), "--from and --to go together");
    require(std::isfinite(factor) && factor > 1.0,
            "--factor must be > 1, got " + std::to_string(factor));
    const SweepValue first = parse_value(param, from), last = parse_value(param, to);
    require(first.value <= last.value, "--from " + from + " is larger than --to " + to);
    for (double v = first.value; v <= last.value * (1 + 1e-12); v *= factor) {
      if (param != SweepParam::Density) v = std::round(v);
      out.push_back(param == SweepParam::Sram
                        ? SweepValue{v, format_bytes(v)}
                        : parse_value(param, param == SweepParam::Density
                                                 ? std::to_string(v)
                                                 : std::to_string(int64_t(v))));
      require(out.size() <= 1000, "the sweep has more than 1000 points; use a larger --factor");
    }
  }
  require(!out.empty(), "--values: no values to sweep; " + accepted(param));
  require(out.size() <= 1000, "the sweep has more than 1000 points");
  return out;
}

SweepResult run_sweep(const ProblemArgs& base, SweepParam param,
                      const std::vector<SweepValue>& values, bool backward,
                      const std::function<void(size_t, const std::string&)>& progress) {
  SweepResult result;
  result.param = param;
  result.backward = backward;
  const AttentionShape base_shape = shape_from_args(base);
  for (size_t k = 0; k < values.size(); ++k) {
    const SweepValue& v = values[k];
    if (progress) progress(k, sweep_param_name(param) + "=" + v.label);
    ProblemArgs args = base;
    AttentionShape shape = base_shape;
    switch (param) {
      case SweepParam::N:
        shape.seq_q = shape.seq_k = int64_t(v.value);
        break;
      case SweepParam::HeadDim:
        shape.head_dim = int64_t(v.value);
        break;
      case SweepParam::Sram:
        args.sram = std::to_string(int64_t(v.value));
        break;
      case SweepParam::Block:
        args.block_rows = args.block_cols = int64_t(v.value);
        args.also_given = {"--block-rows", "--block-cols"};
        break;
      case SweepParam::Density:
        args.block_sparse = "random:" + v.label;
        break;
    }
    SweepPoint point;
    point.value = v;
    try {
      point.problem = resolve_problem(args, shape, backward);
    } catch (const Error& e) {
      throw Error(sweep_param_name(param) + "=" + v.label + ": " + e.what());
    }
    for (simulator::Algorithm a : kSweepAlgorithms)
      point.cells.push_back(run_cell(point.problem, a, backward));
    result.points.push_back(std::move(point));
  }
  if (progress) progress(values.size(), "done");
  return result;
}

}  // namespace flashlab::cli
