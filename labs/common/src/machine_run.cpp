// One run of a student's algorithm on a fresh simulated machine (machine_run.hpp).
#include <flashlab/labs/machine_run.hpp>

#include <random>

namespace flashlab::labs {

using simulator::TensorId;

MachineRun run_on_machine(simulator::MachineConfig config, const AttentionShape& shape,
                          const TileSizes& tiles, const std::vector<Tensor<float>>* qkv,
                          const char* context, const MachineAlgorithm& algorithm) {
  MachineRun r;
  config.counting_only = qkv == nullptr;
  simulator::Machine M(config, &r.trace);
  M.set_context(context);
  M.begin_head(0, 0, true);
  const TensorId ids[] = {TensorId::Q, TensorId::K, TensorId::V};
  for (int k = 0; k < 3; ++k)
    M.hbm().upload(ids[k], k == 0 ? shape.seq_q : shape.seq_k, shape.head_dim,
                   qkv ? (*qkv)[size_t(k)].ptr() : nullptr);
  try {
    algorithm(M, simulator::make_head_problem(shape, config.params, tiles));
  } catch (const Error& e) {
    r.error = e.what();
  }
  r.stats = M.stats();
  r.sram_left_bytes = M.sram().used_bytes();
  r.resident = M.sram().resident_summary();
  const simulator::Hbm& hbm = M.hbm();
  r.outputs_in_hbm =
      hbm.defined(TensorId::O) && hbm.defined(TensorId::l) && hbm.defined(TensorId::m);
  if (qkv && r.error.empty() && r.outputs_in_hbm) {
    r.O.assign(hbm.data(TensorId::O).begin(), hbm.data(TensorId::O).end());
    r.l.assign(hbm.data(TensorId::l).begin(), hbm.data(TensorId::l).end());
    r.m.assign(hbm.data(TensorId::m).begin(), hbm.data(TensorId::m).end());
  }
  return r;
}

std::vector<Tensor<float>> random_qkv(uint64_t seed, const AttentionShape& s) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<Tensor<float>> t = {Tensor<float>(q_dims(s)), Tensor<float>(kv_dims(s)),
                                  Tensor<float>(kv_dims(s))};
  for (auto& x : t)
    for (float& v : x.data) v = normal(rng);
  return t;
}

std::vector<Tensor<double>> to_double(const std::vector<Tensor<float>>& tensors) {
  std::vector<Tensor<double>> out;
  for (const auto& t : tensors) {
    Tensor<double> x(t.dims);
    for (size_t k = 0; k < t.data.size(); ++k) x.data[k] = double(t.data[k]);
    out.push_back(std::move(x));
  }
  return out;
}

}  // namespace flashlab::labs
