// Names of the row model's enums and the conversions of results into quantity lists.
#include <flashlab/cli/implementation_run.hpp>

namespace flashlab::cli {
namespace {

template <typename T>
Tensor<double> widen(const Tensor<T>& t) {
  Tensor<double> out;
  out.dims = t.dims;
  out.data.assign(t.data.begin(), t.data.end());
  return out;
}

}  // namespace

const char* to_string(ImplementationKind kind) {
  switch (kind) {
    case ImplementationKind::Reference:
      return "reference";
    case ImplementationKind::Simulator:
      return "simulator";
    case ImplementationKind::Cuda:
      return "cuda";
  }
  return "?";
}

const char* to_string(Quantity q) {
  switch (q) {
    case Quantity::O:
      return "O";
    case Quantity::lse:
      return "lse";
    case Quantity::dQ:
      return "dQ";
    case Quantity::dK:
      return "dK";
    case Quantity::dV:
      return "dV";
  }
  return "?";
}

ImplementationRun ImplementationRun::absent(std::string name, std::string id,
                                            ImplementationKind kind, std::string description,
                                            std::string reason) {
  ImplementationRun run;
  run.name = std::move(name);
  run.id = std::move(id);
  run.kind = kind;
  run.description = std::move(description);
  run.available = false;
  run.reason_if_absent = std::move(reason);
  return run;
}

std::vector<QuantityTensor> forward_outputs(const ForwardResult<double>& r) {
  return {{Quantity::O, r.O}, {Quantity::lse, r.lse}};
}
std::vector<QuantityTensor> forward_outputs(const ForwardResult<float>& r) {
  return {{Quantity::O, widen(r.O)}, {Quantity::lse, widen(r.lse)}};
}
std::vector<QuantityTensor> backward_outputs(const Gradients<double>& g) {
  return {{Quantity::dQ, g.dQ}, {Quantity::dK, g.dK}, {Quantity::dV, g.dV}};
}
std::vector<QuantityTensor> backward_outputs(const Gradients<float>& g) {
  return {{Quantity::dQ, widen(g.dQ)}, {Quantity::dK, widen(g.dK)}, {Quantity::dV, widen(g.dV)}};
}

const Tensor<double>* find_output(const PassRun& pass, Quantity q) {
  for (const QuantityTensor& t : pass.outputs)
    if (t.quantity == q) return &t.values;
  return nullptr;
}

}  // namespace flashlab::cli
