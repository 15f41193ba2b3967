// sweep: the values of the swept parameter, and the counting-only simulation of each point.
#include <flashlab/cli/sweep.hpp>

#include <cmath>
#include <cstdio>
#include <flashlab/cli/runners.hpp>
#include <flashlab/cli/units.hpp>
#include <flashlab/core/byte_size.hpp>
#include <flashlab/simulator/model/io_formulas.hpp>
#include <flashlab/simulator/simulate.hpp>
#include <sstream>

namespace flashlab::cli {
namespace {

std::string accepted(SweepParam p) {
  switch (p) {
    case SweepParam::N:
      return "N takes sequence lengths from 1 to 2^30, e.g. 256,1024,4096";
    case SweepParam::HeadDim:
      return "d takes head dims from 1 to 2^30, e.g. 32,64,128";
    case SweepParam::Sram:
      return std::string("sram takes byte sizes: ") + kByteSizeSyntax;
    case SweepParam::Block:
      return "block takes tile sizes Br = Bc from 1 to 2^30, e.g. 16,32,64";
    case SweepParam::Density:
      return "density takes block densities in (0, 1], e.g. 0.1,0.5,1";
  }
  return "";
}

// One value of `option` (--values, --from or --to) for the parameter.
SweepValue parse_value(SweepParam p, const std::string& text, const std::string& option) {
  const std::string bad = option + ": '" + text + "' is not a valid value; " + accepted(p);
  if (p == SweepParam::Sram) {
    const int64_t bytes = parse_byte_size(text, option);
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

// Multiplies every counter by `factor` (batch x heads) exactly; false when a count, or a total
// the outputs add up (bytes read + written, FLOPs + exps), would not fit int64.
bool scale_exactly(simulator::IoStats& s, int64_t factor) {
  bool overflow = false;
  auto times = [&](int64_t& x) { overflow |= __builtin_mul_overflow(x, factor, &x); };
  int64_t bytes = 0;
  for (simulator::TensorTraffic& t : s.tensors) {
    times(t.bytes_read);
    times(t.bytes_written);
    times(t.reads);
    times(t.writes);
    overflow |= __builtin_add_overflow(bytes, t.bytes_read, &bytes);
    overflow |= __builtin_add_overflow(bytes, t.bytes_written, &bytes);
  }
  times(s.matmul_flops);
  times(s.exp_ops);
  times(s.other_flops);
  times(s.random_draws);
  int64_t work = 0;
  for (const int64_t x : {s.matmul_flops, s.exp_ops, s.other_flops})
    overflow |= __builtin_add_overflow(work, x, &work);
  return !overflow;
}

// Before any work: refuses a point whose counts for all heads clearly exceed int64. Per head,
// standard attention moves at most 16 seq_q seq_k elements (S, P and their mask and dropout
// passes; 48 with the backward) and every algorithm does about 4 seq_q seq_k d FLOPs (12 with the
// backward). run_cell checks the exact counts.
void require_countable(const Problem& p, bool backward) {
  const double heads = double(p.shape.batch) * double(p.shape.heads);
  const double scores = double(p.shape.seq_q) * double(p.shape.seq_k) * (backward ? 3 : 1);
  const double bytes = 16 * scores * double(element_bytes(p.dtype)) * heads;
  const double flops = 4 * scores * double(p.shape.head_dim) * heads;
  require(std::max(bytes, flops) < 0x1p63,
          "the counts reach about " + format_scientific(std::max(bytes, flops)) +
              " bytes or FLOPs for batch x heads = " + std::to_string(p.shape.batch) + " x " +
              std::to_string(p.shape.heads) +
              ", more than 2^63 - 1 can count exactly; use a smaller --batch, --heads or --seq");
}

SweepCell run_cell(const Problem& problem, simulator::Algorithm algorithm, bool backward) {
  SweepCell cell;
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
  // Counts of one head times batch x heads: exact, or refused (a wrong number is worse than none).
  const int64_t heads = problem.shape.batch * problem.shape.heads;
  const simulator::IoFormula formula = simulator::io_formula(c, backward);
  require(scale_exactly(cell.stats, heads) &&
              !__builtin_mul_overflow(formula.total_bytes(), heads, &cell.formula_bytes),
          "the counts of " + std::string(simulator::to_string(algorithm)) +
              " for batch x heads = " + std::to_string(problem.shape.batch) + " x " +
              std::to_string(problem.shape.heads) +
              " exceed 2^63 - 1 (bytes or FLOPs); use a smaller --batch, --heads or --seq");
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
      out.push_back(parse_value(param, v, "--values"));
  } else {
    require(!from.empty() && !to.empty(), "--from and --to go together");
    require(std::isfinite(factor) && factor > 1.0,
            "--factor must be > 1, got " + format_number(factor));
    const SweepValue first = parse_value(param, from, "--from"),
                     last = parse_value(param, to, "--to");
    require(first.value <= last.value, "--from " + from + " is larger than --to " + to);
    for (double v = first.value; v <= last.value * (1 + 1e-12); v *= factor) {
      if (param != SweepParam::Density) v = std::round(v);
      out.push_back(param == SweepParam::Sram
                        ? SweepValue{v, format_bytes(v)}
                        : parse_value(param,
                                      param == SweepParam::Density ? std::to_string(v)
                                                                   : std::to_string(int64_t(v)),
                                      "--from/--to"));
      require(out.size() <= 1000, "the sweep has more than 1000 points; use a larger --factor");
    }
  }
  require(!out.empty(), "--values: no values to sweep; " + accepted(param));
  require(out.size() <= 1000, "the sweep has more than 1000 points");
  return out;
}

std::vector<SweepPoint> sweep_points(const ProblemArgs& base, SweepParam param,
                                     const std::vector<SweepValue>& values, bool backward) {
  std::vector<SweepPoint> points;
  const AttentionShape base_shape = shape_from_args(base);
  for (const SweepValue& v : values) {
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
        args.also_given.push_back("--sram");
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
      require_countable(point.problem, backward);
    } catch (const Error& e) {
      throw Error(sweep_param_name(param) + "=" + v.label + ": " + e.what());
    }
    points.push_back(std::move(point));
  }
  return points;
}

SweepResult run_sweep(SweepParam param, std::vector<SweepPoint> points, bool backward,
                      const std::function<void(size_t, const std::string&)>& progress) {
  SweepResult result;
  result.param = param;
  result.backward = backward;
  for (size_t k = 0; k < points.size(); ++k) {
    SweepPoint& point = points[k];
    if (progress) progress(k, sweep_param_name(param) + "=" + point.value.label);
    for (simulator::Algorithm a : kSweepAlgorithms)
      point.cells.push_back(run_cell(point.problem, a, backward));
    result.points.push_back(std::move(point));
  }
  return result;
}

}  // namespace flashlab::cli
