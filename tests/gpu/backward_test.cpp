// The fused backward and the naive baseline (forward and backward) against the float64 reference.
#include <doctest/doctest.h>

#include <flashlab/reference/attention.hpp>
#include <flashlab/test/random.hpp>

#include "gpu_harness.hpp"

using namespace flashlab;
using flashlab::cuda::DType;

namespace {

using test::Case;

struct Inputs {
  AttentionOptions options;
  Tensor<double> Q, K, V, dO;
};

Inputs draw(const Case& c, std::mt19937_64& rng) {
  Inputs in;
  in.options = test::options_for(c, rng());
  in.Q = test::random_tensor(rng, q_dims(c.shape));
  in.K = test::random_tensor(rng, kv_dims(c.shape));
  in.V = test::random_tensor(rng, kv_dims(c.shape));
  in.dO = test::random_tensor(rng, q_dims(c.shape));
  return in;
}

// Device copies of one problem's tensors plus poisoned outputs.
struct DeviceProblem {
  std::unique_ptr<test::DeviceBuffer> q, k, v, d_o;
  test::DeviceBuffer o, lse, dq, dk, dv;
  DeviceProblem(const AttentionShape& s, const Inputs& in, DType dtype)
      : q(test::to_device(in.Q, dtype)),
        k(test::to_device(in.K, dtype)),
        v(test::to_device(in.V, dtype)),
        d_o(test::to_device(in.dO, dtype)),
        o(size_t(s.q_elements()) * size_t(cuda::element_bytes(dtype))),
        lse(size_t(s.lse_elements()) * sizeof(float)),
        dq(size_t(s.q_elements()) * size_t(cuda::element_bytes(dtype))),
        dk(size_t(s.kv_elements()) * size_t(cuda::element_bytes(dtype))),
        dv(size_t(s.kv_elements()) * size_t(cuda::element_bytes(dtype))) {
    for (auto* b : {&o, &lse, &dq, &dk, &dv}) b->poison();
  }
  cuda::ForwardArgs forward_args() { return {q->ptr, k->ptr, v->ptr, o.ptr, lse.as<float>()}; }
  cuda::BackwardArgs backward_args() {
    return {q->ptr, k->ptr, v->ptr, o.ptr, d_o->ptr, lse.as<float>(), dq.ptr, dk.ptr, dv.ptr};
  }
};

void check_gradients(const Case& c, DType dtype, const Inputs& in, DeviceProblem& dev) {
  const auto exact = reference::attention_backward(c.shape, in.options, in.Q, in.K, in.V, in.dO);
  const auto rounded = reference::attention_backward(
      c.shape, in.options, test::rounded(in.Q, dtype), test::rounded(in.K, dtype),
      test::rounded(in.V, dtype), test::rounded(in.dO, dtype));
  test::check_accuracy("dQ", test::from_device(dev.dq, dtype, q_dims(c.shape)), exact.dQ,
                       rounded.dQ, dtype);
  test::check_accuracy("dK", test::from_device(dev.dk, dtype, kv_dims(c.shape)), exact.dK,
                       rounded.dK, dtype);
  test::check_accuracy("dV", test::from_device(dev.dv, dtype, kv_dims(c.shape)), exact.dV,
                       rounded.dV, dtype);
}

std::vector<Case> backward_cases() {
  std::vector<Case> cases;
  for (int64_t d : cuda::kFastHeadDims) {
    cases.push_back({{1, 2, 113, 113, d}});
    cases.push_back({{2, 1, 17, 300, d}, true});
    cases.push_back({{1, 1, 300, 17, d}, true});
  }
  for (int64_t n : {1, 17, 1000}) cases.push_back({{1, 1, n, n, 64}, n != 17});
  cases.push_back({{1, 1, 4097, 4097, 128}, true});
  cases.push_back({{2, 3, 300, 500, 64}, false, 0.2});
  cases.push_back({{1, 2, 500, 300, 128}, true, 0.1});
  cases.push_back({{1, 2, 520, 520, 64}, false, 0.0, "butterfly"});
  cases.push_back({{2, 1, 700, 450, 128}, true, 0.0, "random:0.4"});
  cases.push_back({{1, 1, 640, 640, 256}, false, 0.3, "local:1"});
  // d = 256's wgmma kernel: both warpgroups on the same 64 keys, dQ_i staged in the stage that
  // held Q_i and dO_i (five query blocks: each stage is reused).
  cases.push_back({{2, 1, 257, 190, 256}, true, 0.1});
  // d = 96 runs the d = 128 wgmma kernel on tiles TMA pads with zero columns, which S^T, dP^T,
  // dV and dK skip: with dropout, a block-sparse mask, and neither over 11 query blocks (both
  // stages reused, the last block short).
  cases.push_back({{1, 2, 333, 300, 96}, false, 0.15});
  cases.push_back({{2, 1, 400, 390, 96}, true, 0.0, "random:0.4"});
  cases.push_back({{1, 2, 700, 650, 96}});
  return cases;
}

// Both dtypes and every kernel of the fused backward over `cases`; fresh inputs and poisoned
// outputs and workspace for each run.
void check_fused_backward(const std::vector<Case>& cases, std::mt19937_64& rng) {
  for (DType dtype : {DType::F16, DType::BF16})
    for (const Case& c : cases) {
      std::vector<cuda::FusedKernel> kernels =
          test::fused_kernels_for(c, test::Direction::Backward);
      // The wgmma backward's ladder rungs below Wgmma's producer warpgroup: on cp.async copies,
      // and on TMA copies the compute warps issue; built for the ladder's configuration, without
      // dropout, at head dims 64, 96 and 128.
      for (cuda::FusedKernel rung : test::ladder_rungs_for(c, test::Direction::Backward))
        kernels.push_back(rung);
      for (cuda::FusedKernel kernel : kernels) {
        INFO(test::describe(c, dtype) << " kernel " << cuda::to_string(kernel));
        const Inputs in = draw(c, rng);
        DeviceProblem dev(c.shape, in, dtype);
        cuda::flash_forward(c.shape, in.options, dtype, dev.forward_args());
        test::DeviceBuffer workspace(size_t(cuda::flash_backward_workspace_bytes(c.shape)));
        workspace.poison();  // the kernel must initialize its own accumulators
        cuda::flash_backward(c.shape, in.options, dtype, dev.backward_args(), workspace.ptr,
                             nullptr, kernel);
        test::cuda_ok(cudaDeviceSynchronize(), "fused backward");
        check_gradients(c, dtype, in, dev);
      }
    }
}

}  // namespace

TEST_CASE(
    "fused backward matches the float64 reference: odd N, seq_q != seq_k, every head dim, masks") {
  FLASHLAB_TEST_RNG(rng, "fused backward");
  check_fused_backward(backward_cases(), rng);
}

TEST_CASE("sanitizer: small backward cases of the fused kernel") {
  FLASHLAB_TEST_RNG(rng, "sanitizer backward");
  check_fused_backward({{{1, 2, 77, 130, 64}, true, 0.1},
                        {{1, 1, 70, 70, 128}, false, 0.0, "butterfly"},
                        {{1, 1, 150, 150, 64}, true, 0.0, "random:0.4"},
                        {{1, 1, 33, 40, 256}, true},
                        {{1, 1, 200, 70, 256}},  // 4 query blocks: the stages are reused
                        {{1, 1, 20, 20, 32}},
                        {{1, 1, 65, 9, 96}, true},
                        {{1, 2, 90, 140, 128}, false, 0.15}},  // dropout's shuffles at d = 128
                       rng);
}

namespace {
void check_naive(const std::vector<Case>& cases, std::mt19937_64& rng) {
  for (DType dtype : {DType::F16, DType::BF16})
    for (const Case& c : cases) {
      INFO(test::describe(c, dtype) << " naive");
      const Inputs in = draw(c, rng);
      DeviceProblem dev(c.shape, in, dtype);
      test::DeviceBuffer workspace(size_t(cuda::naive_workspace_bytes(c.shape, dtype, true)));
      workspace.poison();
      cuda::naive_forward(c.shape, in.options, dtype, dev.forward_args(), workspace.ptr);
      cuda::naive_backward(c.shape, in.options, dtype, dev.backward_args(), workspace.ptr);
      test::cuda_ok(cudaDeviceSynchronize(), "naive");
      const auto exact = reference::attention_forward(c.shape, in.options, in.Q, in.K, in.V);
      const auto rounded =
          reference::attention_forward(c.shape, in.options, test::rounded(in.Q, dtype),
                                       test::rounded(in.K, dtype), test::rounded(in.V, dtype));
      // The naive path rounds S and P to the element type between passes, as a framework does:
      // allow it 4x (not 2x) the rounded-input error. The fused kernels are held to 2x.
      const auto O = test::from_device(dev.o, dtype, q_dims(c.shape));
      const double err = test::max_abs_error(O, exact.O),
                   base = test::max_abs_error(rounded.O, exact.O);
      CHECK(err <= 4 * base + 4 * test::unit_roundoff(dtype) * test::max_abs(exact.O));
      const auto L = test::from_device(dev.lse, DType::F32, lse_dims(c.shape));
      CHECK(test::max_abs_error(L, exact.lse) <=
            4 * test::max_abs_error(rounded.lse, exact.lse) +
                8 * test::unit_roundoff(dtype) * test::max_abs(exact.lse));
      const auto g = reference::attention_backward(c.shape, in.options, in.Q, in.K, in.V, in.dO);
      for (auto [name, buf, ref, dims] : {std::tuple{"dQ", &dev.dq, &g.dQ, q_dims(c.shape)},
                                          std::tuple{"dK", &dev.dk, &g.dK, kv_dims(c.shape)},
                                          std::tuple{"dV", &dev.dv, &g.dV, kv_dims(c.shape)}}) {
        INFO(name);
        const auto got = test::from_device(*buf, dtype, dims);
        CHECK(test::max_abs_error(got, *ref) <=
              16 * test::unit_roundoff(dtype) * test::max_abs(*ref));
      }
    }
}
}  // namespace

TEST_CASE("naive baseline matches the float64 reference, forward and backward") {
  FLASHLAB_TEST_RNG(rng, "naive baseline");
  // The row passes hold a row in the registers of 1-8 warps where seq_k is a multiple of 8 and
  // short enough (softmax 32768 columns, its backward 16384), else read it from HBM per sweep
  // (naive_rows.cuh, row_shape): seq_k = 77, 300 and 190 take HBM rows; 256 one warp with one
  // chunk per lane; 1000 one warp with four, the last lanes holding three; 2000 two warps; 3000
  // four (33 rows: the last block's second row is past the end); 4104 and 8200 eight warps, with
  // 4 and 8 chunks, partly filled; 16392 eight warps with 16 chunks in the forward, HBM rows in
  // the backward; 32776 HBM rows in both.
  check_naive({{{1, 2, 113, 77, 64}},
               {{2, 1, 300, 300, 128}, true},
               {{1, 2, 250, 190, 32}, false, 0.2},
               {{1, 1, 256, 256, 64}, true, 0.0, "butterfly"},
               {{1, 2, 96, 1000, 64}, true},
               {{1, 1, 40, 2000, 128}, false, 0.1},
               {{1, 1, 33, 3000, 64}, true},
               {{1, 1, 40, 4104, 128}, false, 0.1},
               {{1, 1, 24, 8200, 32}},
               {{1, 1, 16, 16392, 64}, true},
               {{1, 1, 8, 32776, 32}}},
              rng);
}

TEST_CASE("sanitizer: small cases of the naive baseline") {
  // 1032 columns: two warps per row, whose partial results meet in shared memory (racecheck sees
  // the barrier), and 15 rows, so the last block's fourth row is past the end. A first choice,
  // 9 x 3000, made cuBLAS pick a split-K GEMM, in which racecheck reports 4 hazards of its own
  // (bench/results/v14_h200/naive_rows).
  FLASHLAB_TEST_RNG(rng, "sanitizer naive");
  check_naive({{{1, 2, 40, 33, 64}, true, 0.1},
               {{1, 1, 64, 64, 32}, false, 0.0, "butterfly"},
               {{1, 1, 16, 1000, 64}, true},
               {{1, 1, 15, 1032, 64}, false, 0.1}},
              rng);
}

TEST_CASE("dropout on the GPU drops exactly the reference's elements at rate p") {
  // Element by element, and in both fragment layouts of the fused kernels, whose lanes share each
  // Philox call (cuda/src/dropout_bits.cuh); sizes that are not multiples of their tiles.
  const AttentionShape shape{2, 3, 333, 517, 64};
  AttentionOptions options;
  options.dropout_p = 0.3;
  options.seed = 987654321;
  const auto Z = reference::dropout_multiplier(shape, options, 1, 2);
  for (const auto path : {cuda::DropoutMaskPath::Element, cuda::DropoutMaskPath::ForwardFragments,
                          cuda::DropoutMaskPath::BackwardFragments}) {
    INFO("path " << int(path) << " (element, forward fragments, backward fragments)");
    test::DeviceBuffer keep(size_t(shape.seq_q * shape.seq_k));
    keep.poison();
    cuda::dropout_keep_mask(shape, options, 1, 2, keep.as<uint8_t>(), nullptr, path);
    std::vector<uint8_t> host(keep.bytes);
    test::cuda_ok(cudaMemcpy(host.data(), keep.ptr, keep.bytes, cudaMemcpyDeviceToHost),
                  "copy mask");
    int64_t mismatches = 0, kept = 0;
    for (size_t x = 0; x < host.size(); ++x) {
      mismatches += host[x] != (Z.data[x] != 0.0);  // poison (neither 0 nor 1) counts too
      kept += host[x] == 1;
    }
    CHECK(mismatches == 0);
    CHECK(std::abs(double(kept) / double(host.size()) - 0.7) < 0.01);
  }
}
