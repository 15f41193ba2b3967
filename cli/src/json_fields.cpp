// JSON forms of the problem, GPU presets, simulator counts and roofline estimates.
#include <flashlab/cli/json_fields.hpp>

#include <cmath>

namespace flashlab::cli {

nlohmann::json number_or_null(double value) {
  if (!std::isfinite(value)) return nullptr;
  // Byte counts travel as doubles in the row model; write whole numbers as JSON integers.
  if (value == std::floor(value) && std::fabs(value) < 9.0e15) return int64_t(value);
  return value;
}

namespace {

// The tiles each simulated algorithm uses: the given ones (--tiles, else --block-rows and
// --block-cols) or its default, clipped to the problem; null where none fit the SRAM.
nlohmann::json tiles_used(const Problem& p, bool backward) {
  using simulator::Algorithm;
  auto entry = [&](Algorithm a, TileSizes (*resolve)(const simulator::SimConfig&)) {
    try {
      const TileSizes t = resolve(sim_config(p, a, backward));
      return nlohmann::json{{"block_rows", t.block_rows}, {"block_cols", t.block_cols}};
    } catch (const Error&) {
      return nlohmann::json(nullptr);
    }
  };
  nlohmann::json j;
  for (const Algorithm a : {Algorithm::Standard, Algorithm::Flash, Algorithm::Flash2})
    j[simulator::to_string(a)] = entry(a, simulator::resolve_tiles);
  // FA2's backward has tiles of its own (flash2-bwd in --tiles).
  if (backward) j["flash2-bwd"] = entry(Algorithm::Flash2, simulator::resolve_backward_tiles);
  return j;
}

}  // namespace

nlohmann::json to_json(const Problem& p, bool backward) {
  nlohmann::json j;
  j["batch"] = p.shape.batch;
  j["heads"] = p.shape.heads;
  j["seq_q"] = p.shape.seq_q;
  j["seq_k"] = p.shape.seq_k;
  j["head_dim"] = p.shape.head_dim;
  j["causal"] = p.options.causal;
  j["dropout_p"] = p.options.dropout_p;
  j["seed"] = p.options.seed;
  j["softmax_scale"] = softmax_scale(p.options, p.shape);
  if (p.options.block_mask) {
    const BlockMask& m = *p.options.block_mask;
    j["block_sparse"] = {{"description", p.mask_description}, {"block_rows", m.block_rows},
                         {"block_cols", m.block_cols},        {"row_blocks", m.row_blocks},
                         {"col_blocks", m.col_blocks},        {"density", m.density()}};
  } else {
    j["block_sparse"] = nullptr;
  }
  j["dtype"] = dtype_name(p.dtype);
  j["element_bytes"] = element_bytes(p.dtype);
  j["sram_bytes"] = p.sram_bytes;
  j["tiles"] = tiles_used(p, backward);
  j["gpu"] = to_json(p.gpu);
  return j;
}

namespace {
nlohmann::json to_json(const simulator::GpuRates& r) {
  return {{"dram_bytes_per_s", r.dram_bytes_per_s},
          {"l2_bytes_per_s", r.l2_bytes_per_s},
          {"l2_reduce_bytes_per_s", r.l2_reduce_bytes_per_s},
          {"matmul_flops_per_s", r.matmul_flops_per_s},
          {"exp_per_s", r.exp_per_s},
          {"vector_ops_per_s", r.vector_ops_per_s},
          {"random_draws_per_s", r.random_draws_per_s},
          {"rest_rate_under_matmul", r.rest_rate_under_matmul}};
}
}  // namespace

nlohmann::json to_json(const simulator::GpuSpec& g) {
  return {{"name", g.name},
          {"sm_count", g.sm_count},
          {"smem_per_block_bytes", g.smem_per_block_bytes},
          {"smem_per_sm_bytes", g.smem_per_sm_bytes},
          {"max_blocks_per_sm", g.max_blocks_per_sm},
          {"l2_bytes", g.l2_bytes},
          {"launch_seconds", g.launch_s},
          {"datasheet", to_json(g.peak)},
          {"sustained", to_json(g.sustained)},
          {"sustained_source", g.rates_source}};
}

nlohmann::json to_json(const simulator::IoStats& s) {
  nlohmann::json tensors = nlohmann::json::object();
  for (int k = 0; k < simulator::kTensorCount; ++k) {
    const auto t = static_cast<simulator::TensorId>(k);
    const simulator::TensorTraffic& traffic = s[t];
    if (traffic.bytes_read == 0 && traffic.bytes_written == 0) continue;
    tensors[simulator::tensor_name(t)] = {{"bytes_read", traffic.bytes_read},
                                          {"bytes_written", traffic.bytes_written},
                                          {"reads", traffic.reads},
                                          {"writes", traffic.writes}};
  }
  return {{"hbm_bytes_read", s.bytes_read()},
          {"hbm_bytes_written", s.bytes_written()},
          {"hbm_bytes_total", s.total_bytes()},
          {"matmul_flops", s.matmul_flops},
          {"exp_ops", s.exp_ops},
          {"other_flops", s.other_flops},
          {"random_draws", s.random_draws},
          {"peak_sram_bytes", s.peak_sram_bytes},
          {"element_bytes", s.element_bytes},
          {"tensors", tensors}};
}

nlohmann::json to_json(const simulator::LaunchPrediction& l) {
  return {{"name", l.name},
          {"kernel", l.kernel},
          {"units", l.units},
          {"units_per_sm", l.units_per_sm},
          {"slots", l.slots},
          {"waves", l.waves},
          {"sm_busy_fraction", l.sm_busy},
          {"matmul_seconds", l.matmul_s},
          {"exp_seconds", l.exp_s},
          {"vector_seconds", l.vector_s},
          {"random_seconds", l.random_s},
          {"compute_seconds", l.compute_s},
          {"softmax_under_matmul", l.softmax_under_matmul},
          {"l2_bytes", l.l2_bytes},
          {"l2_seconds", l.l2_s},
          {"dram_read_bytes", l.dram_read_bytes},
          {"dram_write_bytes", l.dram_write_bytes},
          {"dram_seconds", l.dram_s},
          {"launch_seconds", l.launch_s},
          {"predicted_seconds", l.predicted_s},
          {"bound", simulator::to_string(l.bound)}};
}

nlohmann::json to_json(const simulator::Prediction& p) {
  nlohmann::json launches = nlohmann::json::array();
  for (const simulator::LaunchPrediction& l : p.launches) launches.push_back(to_json(l));
  return {{"gpu", p.gpu},
          {"predicted_seconds", p.predicted_s},
          {"bound", simulator::to_string(p.bound)},
          {"units", p.units},
          {"compute_seconds", p.compute_s},
          {"l2_bytes", p.l2_bytes},
          {"l2_seconds", p.l2_s},
          {"dram_read_bytes", p.dram_read_bytes},
          {"dram_write_bytes", p.dram_write_bytes},
          {"dram_seconds", p.dram_s},
          {"launch_seconds", p.launch_s},
          {"launches", launches}};
}

}  // namespace flashlab::cli
