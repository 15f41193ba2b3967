// The tensors an attention algorithm keeps in HBM (and the on-chip tiles named after them),
// identified by a small enum so the counting hot path never compares strings.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace flashlab::simulator {

// Paper symbols. l, m: FA1's softmax statistics (FA1 Alg. 1 and 2); L: FA2's logsumexp m + log l.
// P_dropped: standard attention's P after dropout, which PyTorch keeps for dV = P^T dO.
// D and Z only ever live on chip (FA1 Alg. 4 l. 14 and 19); they name tiles in the trace.
enum class TensorId : uint8_t {
  Q,
  K,
  V,
  O,
  l,
  m,
  L,
  S,
  P,
  P_dropped,
  dO,
  dQ,
  dK,
  dV,
  dS,
  dP,
  D,
  Z,
  dQ_acc,  // FA2's dQ accumulator in HBM, fp32, added to by every K/V block (FA2 Alg. 2 l. 15)
  None     // an on-chip scratch tile that belongs to no tensor
};

inline constexpr int kTensorCount = static_cast<int>(TensorId::None);

inline constexpr int index(TensorId t) {
  return static_cast<int>(t);
}

// The name used in output and JSON: "Q", "K", ..., "P_dropped", ..., "none".
inline constexpr const char* tensor_name(TensorId t) {
  constexpr const char* kNames[] = {"Q",  "K",  "V",         "O",  "l",      "m",   "L",
                                    "S",  "P",  "P_dropped", "dO", "dQ",     "dK",  "dV",
                                    "dS", "dP", "D",         "Z",  "dQ_acc", "none"};
  return kNames[index(t)];
}

// Inverse of tensor_name (case-sensitive: "l" and "L" differ); nullopt for an unknown name.
inline std::optional<TensorId> tensor_from_name(std::string_view name) {
  for (int k = 0; k <= kTensorCount; ++k) {
    const auto t = static_cast<TensorId>(k);
    if (name == tensor_name(t)) return t;
  }
  return std::nullopt;
}

}  // namespace flashlab::simulator
