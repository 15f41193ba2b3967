// --save: .npy files for inputs, outputs and the block layout, plus report.json.
#include <flashlab/cli/save_outputs.hpp>

#include <filesystem>
#include <flashlab/io/npy.hpp>
#include <fstream>

namespace flashlab::cli {
namespace {

io::NpyStorage storage_of(DType dtype) {
  switch (dtype) {
    case DType::Float16:
      return io::NpyStorage::kFloat16;
    case DType::BFloat16:
      return io::NpyStorage::kBfloat16;
    case DType::Float32:
      return io::NpyStorage::kFloat32;
  }
  return io::NpyStorage::kFloat64;
}

io::NpyStorage storage_of(OutputPrecision p) {
  switch (p) {
    case OutputPrecision::Float64:
      return io::NpyStorage::kFloat64;
    case OutputPrecision::Float32:
      return io::NpyStorage::kFloat32;
    case OutputPrecision::Float16:
      return io::NpyStorage::kFloat16;
    case OutputPrecision::BFloat16:
      return io::NpyStorage::kBfloat16;
  }
  return io::NpyStorage::kFloat64;
}

}  // namespace

void prepare_save_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  require(!ec && std::filesystem::is_directory(dir),
          "--save: cannot create directory '" + dir + "'" + (ec ? ": " + ec.message() : ""));
}

std::vector<std::string> save_outputs(const std::string& dir, const CompareReport& report,
                                      const Inputs& inputs, const nlohmann::json& report_json) {
  namespace fs = std::filesystem;
  prepare_save_dir(dir);
  std::vector<std::string> written;
  auto path = [&](const std::string& name) { return (fs::path(dir) / name).string(); };
  auto write = [&](const std::string& name, const Tensor<double>& t, io::NpyStorage storage) {
    io::write_npy(path(name), t, storage);
    written.push_back(path(name));
  };

  const io::NpyStorage input_storage = storage_of(report.problem.dtype);
  write("q.npy", inputs.Q, input_storage);
  write("k.npy", inputs.K, input_storage);
  write("v.npy", inputs.V, input_storage);
  if (report.backward) write("do.npy", inputs.dO, input_storage);

  for (const ImplementationRun& run : report.runs) {
    if (!run.available) continue;
    for (const std::optional<PassRun>* pass : {&run.forward, &run.backward}) {
      if (!*pass) continue;
      for (const QuantityTensor& out : (*pass)->outputs)
        write(run.id + "_" + to_string(out.quantity) + ".npy", out.values,
              storage_of(run.precision));
    }
  }

  if (report.problem.options.block_mask) {
    const BlockMask& m = *report.problem.options.block_mask;
    io::NpyArray layout;
    layout.dtype = "uint8";
    layout.shape = {m.row_blocks, m.col_blocks};
    layout.bytes = m.layout;
    io::write_npy(path("block_mask.npy"), layout);
    written.push_back(path("block_mask.npy"));
  }

  std::ofstream json(path("report.json"));
  json << report_json.dump(2) << "\n";
  require(bool(json), "--save: cannot write " + path("report.json"));
  written.push_back(path("report.json"));
  return written;
}

}  // namespace flashlab::cli
