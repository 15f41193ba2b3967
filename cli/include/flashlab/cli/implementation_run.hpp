// One row of `flashlab compare`: what one implementation (the float64 reference, a simulated
// algorithm, a CUDA kernel) produced on the shared inputs, what it cost, or why it is absent.
// The table, the JSON and --save all read this model, so a new backend only fills these structs.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <flashlab/core/results.hpp>
#include <flashlab/core/tensor.hpp>
#include <flashlab/core/tiling.hpp>
#include <flashlab/simulator/machine/io_stats.hpp>
#include <flashlab/simulator/model/performance_model.hpp>

namespace flashlab::cli {

enum class ImplementationKind { Reference, Simulator, Cuda };
const char* to_string(ImplementationKind kind);  // "reference", "simulator", "cuda"

// The quantities compared against the reference: forward O and logsumexp, backward gradients.
enum class Quantity { O, lse, dQ, dK, dV };
const char* to_string(Quantity q);  // "O", "lse", "dQ", "dK", "dV"

// The precision an implementation produced its outputs in; --save stores them in it, losslessly.
enum class OutputPrecision { Float64, Float32, Float16, BFloat16 };

struct QuantityTensor {
  Quantity quantity = Quantity::O;
  Tensor<double> values;  // an exact copy of what the implementation produced
  // The precision of this output when it is not the run's: the CUDA kernels write O and the
  // gradients in fp16/bf16 but compute and store the logsumexp in fp32.
  std::optional<OutputPrecision> precision;

  QuantityTensor() = default;
  QuantityTensor(Quantity q, Tensor<double> v, std::optional<OutputPrecision> p = std::nullopt)
      : quantity(q), values(std::move(v)), precision(p) {}
};

// One pass (forward or backward) of one implementation.
struct PassRun {
  std::vector<QuantityTensor> outputs;              // forward: O, lse; backward: dQ, dK, dV
  std::optional<simulator::IoStats> io;             // HBM traffic, FLOPs, peak SRAM (simulator)
  std::optional<double> extra_memory_bytes;         // beyond inputs and outputs (S, P or l, m ...)
  std::optional<simulator::Prediction> prediction;  // the performance model on the --gpu preset
  std::optional<double> measured_seconds;           // wall clock of the pass where it ran
  std::optional<TileSizes> tiles;
  bool softmax_under_matmul = false;  // the kernel's schedule, for the model (kernel_model.hpp)
  bool kept_max = false;              // the forward keeps its running max (kernel_model.hpp)
};

struct ImplementationRun {
  std::string name;  // shown in the table: "flash (simulator)"
  std::string id;    // JSON key and --save file prefix: "flash_sim"
  ImplementationKind kind = ImplementationKind::Simulator;
  std::string description;  // e.g. "FlashAttention, ... (FA1 Alg. 2 + FA1 Alg. 5 / FA1 Alg. 4)"
  bool available = true;
  std::string reason_if_absent;  // why there is no result (no GPU, built without CUDA ...)
  OutputPrecision precision = OutputPrecision::Float32;
  std::string measured_on;  // "host CPU" or the GPU's name
  std::optional<PassRun> forward;
  std::optional<PassRun> backward;
  std::string backward_absent_reason;  // when --backward ran but this implementation has none

  // A run that did not happen, shown as a row with the reason.
  static ImplementationRun absent(std::string name, std::string id, ImplementationKind kind,
                                  std::string description, std::string reason);
};

// Outputs in the order the table shows them.
std::vector<QuantityTensor> forward_outputs(const ForwardResult<double>& r);
std::vector<QuantityTensor> forward_outputs(const ForwardResult<float>& r);
std::vector<QuantityTensor> backward_outputs(const Gradients<double>& g);
std::vector<QuantityTensor> backward_outputs(const Gradients<float>& g);

// The output `q` of a pass, or nullptr if the pass did not produce it.
const Tensor<double>* find_output(const PassRun& pass, Quantity q);

}  // namespace flashlab::cli
