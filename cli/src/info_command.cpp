// `flashlab info`: version, build options, the GPU found (through the CUDA hook) and the GPU
// presets the roofline predictions use.
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
  return {{"a100", simulator::a100_40gb()}, {"h100", simulator::h100_sxm()}};
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
  std::printf("\nGPU presets (--gpu), the numbers of the roofline prediction:\n");
  TextTable t;
  t.columns = {{"preset", Align::Left, ""},         {"name", Align::Left, ""},
               {"HBM bandwidth", Align::Right, ""}, {"SRAM/SM", Align::Right, ""},
               {"SMs", Align::Right, ""},           {"matmul", Align::Right, ""},
               {"exp", Align::Right, ""},           {"fp32 vector", Align::Right, ""}};
  for (const Preset& p : presets()) {
    const simulator::GpuSpec& g = p.spec;
    TableRow row;
    row.cells = {{p.name, Tone::Bold},
                 {g.name, Tone::Plain},
                 {rate(g.hbm_bandwidth_bytes_per_s, "B/s"), Tone::Plain},
                 {format_bytes(double(g.sram_bytes_per_sm)), Tone::Plain},
                 {std::to_string(g.sm_count), Tone::Plain},
                 {rate(g.matmul_flops_per_s, "FLOP/s"), Tone::Plain},
                 {rate(g.exp_per_s, "exp/s"), Tone::Plain},
                 {rate(g.vector_flops_per_s, "FLOP/s"), Tone::Plain}};
    t.rows.push_back(row);
  }
  std::printf("%s", render(t, palette).c_str());
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
