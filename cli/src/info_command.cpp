// `flashlab info`: version, build options, the GPU found (through the CUDA hook) and the GPU
// presets the performance model uses.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <flashlab/cli/build_info.hpp>
#include <flashlab/cli/commands.hpp>
#include <flashlab/cli/cuda_rows.hpp>
#include <flashlab/cli/json_fields.hpp>
#include <flashlab/cli/terminal.hpp>
#include <flashlab/cli/text_table.hpp>
#include <flashlab/cli/units.hpp>
#include <memory>

namespace flashlab::cli {
namespace {

struct InfoArgs {
  bool json = false;
  std::string color = "auto";
};

struct Preset {
  const char* name;  // what --gpu accepts
  simulator::GpuSpec spec;
};

std::vector<Preset> presets() {
  return {{"a100", simulator::a100_40gb()},
          {"h100", simulator::h100_sxm()},
          {"h200", simulator::h200_sxm()}};
}

std::string rate(double per_second, const char* unit) {
  return format_count(per_second) + unit;
}

int run_info(const InfoArgs& a) {
  const Palette palette{colors_enabled(parse_color_mode(a.color), stdout)};
  const GpuDevice gpu = detect_gpu();
  if (a.json) {
    nlohmann::json doc;
    doc["flashlab_version"] = flashlab_version();
    doc["build_type"] = build_type();
    doc["cuda"] = built_with_cuda();
    doc["gpu"] =
        gpu.available
            ? nlohmann::json{{"name", gpu.name},
                             {"sm_count", gpu.sm_count},
                             {"compute_capability", std::to_string(gpu.compute_major) + "." +
                                                        std::to_string(gpu.compute_minor)},
                             {"memory_bytes", gpu.memory_bytes}}
            : nlohmann::json{{"absent", gpu.reason}};
    nlohmann::json list = nlohmann::json::array();
    for (const Preset& p : presets()) {
      nlohmann::json j = to_json(p.spec);
      j["preset"] = p.name;
      list.push_back(j);
    }
    doc["gpu_presets"] = list;
    std::printf("%s\n", doc.dump(2).c_str());
    return kExitOk;
  }
  std::printf("%s %s\n", palette.paint("flashlab", Tone::Bold).c_str(), flashlab_version());
  std::printf("build type  %s\n", build_type());
  std::printf("CUDA        %s\n", built_with_cuda() ? "on (cuda/ kernels built)" : "off");
  if (gpu.available) {
    std::printf("GPU         %s, %d SMs, compute capability %d.%d, %s\n", gpu.name.c_str(),
                gpu.sm_count, gpu.compute_major, gpu.compute_minor,
                format_bytes(double(gpu.memory_bytes)).c_str());
  } else {
    std::printf("GPU         none: %s\n", gpu.reason.c_str());
  }
  std::printf(
      "\nGPU presets (--gpu): the performance model's numbers, sustained (measured by "
      "microbenchmarks; datasheet peak in brackets):\n");
  TextTable t;
  t.columns = {{"preset", Align::Left, ""},        {"name", Align::Left, ""},
               {"SMs", Align::Right, ""},          {"smem/block", Align::Right, ""},
               {"L2", Align::Right, ""},           {"DRAM", Align::Right, ""},
               {"L2->SM", Align::Right, ""},       {"L2 adds", Align::Right, ""},
               {"matmul", Align::Right, ""},       {"exp", Align::Right, ""},
               {"fp32 ops", Align::Right, ""},     {"dropout draws", Align::Right, ""},
               {"under matmul", Align::Right, ""}, {"launch", Align::Right, ""}};
  auto both = [&](double sustained, double peak, const char* unit) {
    return rate(sustained, unit) + (peak > 0 ? " [" + rate(peak, unit) + "]" : "");
  };
  for (const Preset& p : presets()) {
    const simulator::GpuSpec& g = p.spec;
    TableRow row;
    row.cells = {
        {p.name, Tone::Bold},
        {g.name, Tone::Plain},
        {std::to_string(g.sm_count), Tone::Plain},
        {format_bytes(double(g.smem_per_block_bytes)), Tone::Plain},
        {format_bytes(double(g.l2_bytes)), Tone::Plain},
        {both(g.sustained.dram_bytes_per_s, g.peak.dram_bytes_per_s, "B/s"), Tone::Plain},
        {both(g.sustained.l2_bytes_per_s, g.peak.l2_bytes_per_s, "B/s"), Tone::Plain},
        {rate(g.sustained.l2_reduce_bytes_per_s, "B/s"), Tone::Plain},
        {both(g.sustained.matmul_flops_per_s, g.peak.matmul_flops_per_s, "FLOP/s"), Tone::Plain},
        {both(g.sustained.exp_per_s, g.peak.exp_per_s, "exp/s"), Tone::Plain},
        {both(g.sustained.vector_ops_per_s, g.peak.vector_ops_per_s, "op/s"), Tone::Plain},
        {both(g.sustained.random_draws_per_s, g.peak.random_draws_per_s, "draw/s"), Tone::Plain},
        {format_fraction(g.sustained.rest_rate_under_matmul) + " [" +
             format_fraction(g.peak.rest_rate_under_matmul) + "]",
         Tone::Plain},
        {format_seconds(g.launch_s), Tone::Plain}};
    t.rows.push_back(row);
  }
  std::printf("%s", render(t, palette).c_str());
  std::printf(
      "  dropout draws: Philox calls, each deciding eight elements (core/dropout.hpp)\n"
      "  under matmul: the share of the exp, fp32 and draw rates a kernel's softmax keeps while "
      "its tensor cores multiply (kernels that overlap the two)\n");
  for (const Preset& p : presets()) std::printf("  %s: %s\n", p.name, p.spec.rates_source.c_str());
  return kExitOk;
}

}  // namespace

Subcommand add_info_command(CLI::App& parent) {
  auto args = std::make_shared<InfoArgs>();
  CLI::App* app = parent.add_subcommand(
      "info", "Show the version, build options (CUDA on/off), the GPU found and the GPU presets");
  app->add_flag("--json", args->json, "Print as JSON");
  app->add_option("--color", args->color, "Colours: auto, always, never")->capture_default_str();
  app->footer("Example:\n  flashlab info --json");
  return {app, [args] { return run_info(*args); }};
}

}  // namespace flashlab::cli
