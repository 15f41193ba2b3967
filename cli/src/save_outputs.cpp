// --save: .npy files for inputs, outputs and the block layout, plus report.json, written into a
// staging directory first and moved into place only when every file is written.
#include <flashlab/cli/save_outputs.hpp>

#include <sys/statvfs.h>

#include <cstdlib>
#include <filesystem>
#include <flashlab/cli/units.hpp>
#include <flashlab/io/npy.hpp>
#include <fstream>

namespace flashlab::cli {
namespace {

namespace fs = std::filesystem;

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

// A new empty directory ".flashlab-save-XXXXXX" inside `dir`: on the same file system, so that
// moving a finished file into `dir` is a rename.
fs::path make_staging_dir(const std::string& dir) {
  std::string name = (fs::path(dir) / ".flashlab-save-XXXXXX").string();
  require(::mkdtemp(name.data()) != nullptr,
          "--save: cannot create files in '" + dir + "' (no permission, or not writable)");
  return name;
}

// Removes the staging directory and whatever it holds, whatever happens to the run.
struct StagingDir {
  fs::path path;
  ~StagingDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

int64_t save_bytes_estimate(const AttentionShape& s, bool backward, size_t rows) {
  // Inputs in the dtype (at most 4 bytes), outputs in at most float64, for every row.
  const double q = double(s.q_elements()), kv = double(s.kv_elements());
  const double inputs = (backward ? 2 * q + 2 * kv : q + 2 * kv) * 4;
  const double outputs = (q + double(s.lse_elements()) + (backward ? q + 2 * kv : 0)) * 8;
  return int64_t(inputs + double(rows) * outputs) + (int64_t{1} << 20);  // + report.json, headers
}

void prepare_save_dir(const std::string& dir, int64_t bytes_needed) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  require(!ec && fs::is_directory(dir),
          "--save: cannot create directory '" + dir + "'" + (ec ? ": " + ec.message() : ""));
  fs::remove(make_staging_dir(dir), ec);  // can files be created there?
  struct statvfs fs_info {};
  if (::statvfs(dir.c_str(), &fs_info) == 0) {
    const double free_bytes = double(fs_info.f_bavail) * double(fs_info.f_frsize);
    require(double(bytes_needed) <= free_bytes,
            "--save: '" + dir + "' has " + format_bytes(free_bytes) +
                " free; the inputs and outputs need about " + format_bytes(double(bytes_needed)));
  }
}

std::vector<std::string> save_outputs(const std::string& dir, const CompareReport& report,
                                      const Inputs& inputs, const nlohmann::json& report_json) {
  const StagingDir staging{make_staging_dir(dir)};
  std::vector<std::string> names;
  auto staged = [&](const std::string& name) {
    names.push_back(name);
    return (staging.path / name).string();
  };
  try {
    const io::NpyStorage input_storage = storage_of(report.problem.dtype);
    io::write_npy(staged("q.npy"), inputs.Q, input_storage);
    io::write_npy(staged("k.npy"), inputs.K, input_storage);
    io::write_npy(staged("v.npy"), inputs.V, input_storage);
    if (report.backward) io::write_npy(staged("do.npy"), inputs.dO, input_storage);

    for (const ImplementationRun& run : report.runs) {
      if (!run.available) continue;
      for (const std::optional<PassRun>* pass : {&run.forward, &run.backward}) {
        if (!*pass) continue;
        for (const QuantityTensor& out : (*pass)->outputs)
          io::write_npy(staged(run.id + "_" + to_string(out.quantity) + ".npy"), out.values,
                        storage_of(out.precision.value_or(run.precision)));
      }
    }

    if (report.problem.options.block_mask) {
      const BlockMask& m = *report.problem.options.block_mask;
      io::NpyArray layout;
      layout.dtype = "uint8";
      layout.shape = {m.row_blocks, m.col_blocks};
      layout.bytes = m.layout;
      io::write_npy(staged("block_mask.npy"), layout);
    }

    std::ofstream json(staged("report.json"));
    json << report_json.dump(2) << "\n";
    json.close();
    require(bool(json), "cannot write report.json");
  } catch (const Error& e) {
    throw Error("--save: nothing was saved to '" + dir + "': " + e.what());
  }

  // Every file is written: move them into place (renames within one file system).
  std::vector<std::string> written;
  for (const std::string& name : names) {
    const std::string target = (fs::path(dir) / name).string();
    std::error_code ec;
    fs::rename(staging.path / name, target, ec);
    if (ec) {
      const std::string why = ec.message();
      for (const std::string& moved : written) fs::remove(moved, ec);
      throw Error("--save: cannot move " + name + " into '" + dir + "' (" + why +
                  "); nothing was saved");
    }
    written.push_back(target);
  }
  return written;
}

}  // namespace flashlab::cli
