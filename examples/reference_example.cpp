// Runs the float64 reference attention on a default problem and prints shape, checksum and time.
#include <chrono>
#include <cstdio>
#include <random>

#include <flashlab/reference/attention.hpp>

int main() {
  using namespace flashlab;
  const AttentionShape shape{1, 4, 512, 512, 64};
  AttentionOptions options;
  options.causal = true;
  std::mt19937_64 rng(2022);
  std::normal_distribution<double> normal(0.0, 1.0);
  auto random_tensor = [&](std::vector<int64_t> dims) {
    Tensor<double> t(std::move(dims));
    for (double& x : t.data) x = normal(rng);
    return t;
  };
  const auto Q = random_tensor(q_dims(shape)), K = random_tensor(kv_dims(shape)),
             V = random_tensor(kv_dims(shape));
  const auto start = std::chrono::steady_clock::now();
  const auto result = reference::attention_forward(shape, options, Q, K, V);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  double checksum = 0;
  for (double x : result.O.data) checksum += x;
  std::printf("reference attention (float64), causal, shape %s\n", to_string(shape).c_str());
  std::printf("sum(O) = %.12f  time = %.1f ms\n", checksum, ms);
  return 0;
}
