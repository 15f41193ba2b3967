// The fast forward kernel and the teaching kernel against the float64 reference on the GPU.
#include <doctest/doctest.h>

#include <memory>
#include <utility>
#include <vector>

#include <flashlab/reference/attention.hpp>
#include <flashlab/test/random.hpp>

#include "gpu_harness.hpp"

using namespace flashlab;
using flashlab::cuda::DType;

namespace {

using test::Case;

// Fresh random inputs for one case and dtype, on the host and the device, with the float64
// reference on them and on them rounded to the dtype: drawn once and shared by every kernel
// checked on the case (the references cost more than the kernels; each kernel still writes into
// freshly poisoned outputs).
class ForwardProblem {
 public:
  // key_ramp > 0 scales key row j by 1 + key_ramp j / seq_k: the scores, and with them each row's
  // running max, then grow along the keys, block after block.
  ForwardProblem(const Case& c, DType dtype, std::mt19937_64& rng, double key_ramp = 0.0)
      : c_(c),
        dtype_(dtype),
        options_(test::options_for(c, rng())),
        q_(test::random_tensor(rng, q_dims(c.shape))),
        k_(ramped(test::random_tensor(rng, kv_dims(c.shape)), key_ramp)),
        v_(test::random_tensor(rng, kv_dims(c.shape))),
        exact_(reference::attention_forward(c.shape, options_, q_, k_, v_)),
        rounded_(reference::attention_forward(c.shape, options_, test::rounded(q_, dtype),
                                              test::rounded(k_, dtype), test::rounded(v_, dtype))),
        dq_(test::to_device(q_, dtype)),
        dk_(test::to_device(k_, dtype)),
        dv_(test::to_device(v_, dtype)) {}

  // Runs one kernel into poisoned outputs and checks O and the logsumexp against the reference.
  template <typename Launch>
  void check(Launch launch) const {
    INFO(test::describe(c_, dtype_));
    test::DeviceBuffer o(size_t(c_.shape.q_elements()) * size_t(cuda::element_bytes(dtype_)));
    test::DeviceBuffer lse(size_t(c_.shape.lse_elements()) * sizeof(float));
    o.poison();
    lse.poison();
    launch(c_.shape, options_,
           cuda::ForwardArgs{dq_->ptr, dk_->ptr, dv_->ptr, o.ptr, lse.as<float>()});
    test::cuda_ok(cudaDeviceSynchronize(), "forward kernel");
    const auto O = test::from_device(o, dtype_, q_dims(c_.shape));
    const auto L = test::from_device(lse, DType::F32, lse_dims(c_.shape));
    test::check_accuracy("O", O, exact_.O, rounded_.O, dtype_);
    test::check_accuracy("logsumexp", L, exact_.lse, rounded_.lse, dtype_);
  }

 private:
  static Tensor<double> ramped(Tensor<double> k, double key_ramp) {
    const int64_t seq_k = k.dims[2], d = k.dims[3];
    for (int64_t i = 0; i < k.size(); ++i)
      k.data[size_t(i)] *= 1.0 + key_ramp * double(i / d % seq_k) / double(seq_k);
    return k;
  }

  Case c_;
  DType dtype_;
  AttentionOptions options_;
  Tensor<double> q_, k_, v_;
  ForwardResult<double> exact_, rounded_;
  std::unique_ptr<test::DeviceBuffer> dq_, dk_, dv_;
};

// Runs one kernel on fresh random inputs and checks O and the logsumexp against the reference.
template <typename Launch>
void check_forward(const Case& c, DType dtype, std::mt19937_64& rng, Launch launch) {
  ForwardProblem(c, dtype, rng).check(launch);
}

std::vector<Case> forward_cases() {
  std::vector<Case> cases;
  for (int64_t d : cuda::kFastHeadDims) {
    cases.push_back({{1, 2, 113, 113, d}});
    cases.push_back({{2, 1, 17, 1000, d}, true});
    cases.push_back({{1, 1, 1000, 17, d}, true});
  }
  for (int64_t n : {1, 17, 113, 1000, 4097}) cases.push_back({{1, 1, n, n, 64}, n % 2 == 1});
  cases.push_back({{2, 3, 300, 500, 64}, false, 0.2});
  // d = 64 without a mask takes 160 keys here (seq_k pads to 2080: flash_fwd.cu, wide_keys_pay),
  // the last block 80 keys short.
  cases.push_back({{1, 2, 337, 2000, 64}});
  // Under a causal mask too, from 8192 keys on (kWideCausalKeys): 160-key blocks across the
  // diagonal of every query block (the mask is aligned top-left, so 300 rows see 300 keys; few
  // rows keep the float64 reference of 8200 keys cheap).
  cases.push_back({{1, 2, 300, 8200, 64}, true});
  cases.push_back({{1, 2, 500, 300, 128}, true, 0.1});
  cases.push_back({{1, 2, 520, 520, 64}, false, 0.0, "butterfly"});
  cases.push_back({{2, 1, 700, 450, 128}, true, 0.0, "random:0.4"});
  cases.push_back({{1, 1, 640, 640, 32}, false, 0.3, "local:1"});
  // d = 96 runs the d = 128 wgmma kernel on tiles TMA pads with zero columns, which S = Q K^T
  // and P V skip (P V as a 64- and a 32-column product): with dropout (whose mask must not depend
  // on the padding), a block-sparse mask, and neither over 12 key blocks, the last one short.
  cases.push_back({{1, 2, 333, 300, 96}, false, 0.15});
  cases.push_back({{2, 1, 400, 390, 96}, true, 0.0, "random:0.4"});
  cases.push_back({{1, 2, 200, 1500, 96}});
  return cases;
}

// Both dtypes and every kernel of `kernels_for(case)` over `cases`, all kernels of a case and
// dtype on the same fresh inputs (keys ramped by `key_ramp`, ForwardProblem).
template <typename KernelsFor>
void check_kernels(const std::vector<Case>& cases, std::mt19937_64& rng, KernelsFor kernels_for,
                   double key_ramp = 0.0) {
  int checked = 0;
  for (DType dtype : {DType::F16, DType::BF16})
    for (const Case& c : cases) {
      const std::vector<cuda::FusedKernel> kernels = kernels_for(c);
      if (kernels.empty()) continue;
      const ForwardProblem problem(c, dtype, rng, key_ramp);
      for (cuda::FusedKernel kernel : kernels) {
        INFO("kernel " << cuda::to_string(kernel));
        problem.check([&](auto& shape, auto& options, const cuda::ForwardArgs& args) {
          cuda::flash_forward(shape, options, dtype, args, nullptr, kernel);
        });
        ++checked;
      }
    }
  MESSAGE(checked << " kernel runs checked");
}

// Both dtypes and every kernel of the fast forward over `cases`.
void check_fast_forward(const std::vector<Case>& cases, std::mt19937_64& rng,
                        double key_ramp = 0.0) {
  check_kernels(
      cases, rng,
      [](const Case& c) { return test::fused_kernels_for(c, test::Direction::Forward); }, key_ramp);
}

// Every rung of the wgmma forward's ladder (FusedKernel::WgmmaSerial ... WgmmaPersistentDynamic) on
// the cases they are built for (test::ladder_rungs_for): fp16 and bf16, no dropout, every wgmma
// head dim.
void check_ladder_rungs(const std::vector<Case>& cases, std::mt19937_64& rng) {
  check_kernels(cases, rng,
                [](const Case& c) { return test::ladder_rungs_for(c, test::Direction::Forward); });
}

}  // namespace

TEST_CASE("the wgmma forward's ladder rungs (serial ... persistent) match the float64 reference") {
  FLASHLAB_TEST_RNG(rng, "ladder rungs");
  std::vector<Case> cases = forward_cases();
  // More (query block, head) units than an H100/H200 has SMs (132): the persistent rung's blocks
  // then take several units each, and its stages and barrier phases carry from one to the next.
  cases.push_back({{3, 50, 300, 333, 64}, true});
  cases.push_back({{2, 70, 200, 257, 128}, false, 0.0, "random:0.4"});
  cases.push_back({{2, 70, 200, 630, 64}});  // 160 keys at d = 64, several units per block
  // 150 units on 132 SMs: 18 blocks take a second unit in the reversed (odd) round of the
  // persistent schedule, the last round short.
  cases.push_back({{1, 150, 40, 70, 128}, true});
  // d = 96 (the d = 128 kernel on padded tiles: cp.async fills the zero columns on the rungs
  // below TMA) and d = 256 (O_i from registers on every rung), several units per persistent block.
  cases.push_back({{2, 70, 200, 257, 96}, true});
  cases.push_back({{1, 140, 70, 90, 256}, false, 0.0, "random:0.4"});
  check_ladder_rungs(cases, rng);
}

TEST_CASE(
    "fast forward matches the float64 reference: odd N, seq_q != seq_k, every head dim, masks") {
  FLASHLAB_TEST_RNG(rng, "fast forward");
  check_fast_forward(forward_cases(), rng);
}

TEST_CASE("the fast forward follows a running max that rises block after block") {
  // Keys scaled by up to 1 + 6: each row's largest score grows along the keys, by many times the
  // distance (fwd::kKeptMaxSlack, 2^8 in P~) over which the softmax keeps its running max, so
  // later key blocks must move it; the first rows under a causal mask see few keys, the last all.
  FLASHLAB_TEST_RNG(rng, "rising max");
  std::vector<Case> cases;
  for (int64_t d : cuda::kFastHeadDims)
    for (bool causal : {false, true}) {
      cases.push_back({{1, 2, 300, 1200, d}, causal});
      // With dropout the kept and the moved max both meet it: each decides P~ before dropout.
      cases.push_back({{1, 2, 300, 1200, d}, causal, 0.2});
    }
  check_fast_forward(cases, rng, 6.0);
}

TEST_CASE("teaching kernel matches the float64 reference in fp32") {
  FLASHLAB_TEST_RNG(rng, "teaching forward");
  const std::vector<Case> cases = {{{1, 1, 1, 1, 1}},
                                   {{2, 3, 37, 53, 16}, true},
                                   {{1, 2, 130, 70, 63}, false, 0.25},
                                   {{1, 1, 200, 200, 128}, true, 0.0, "butterfly"},
                                   {{1, 1, 65, 90, 256}, false}};
  for (const Case& c : cases)
    check_forward(c, DType::F32, rng,
                  [](auto& shape, auto& options, const cuda::ForwardArgs& args) {
                    cuda::flash_forward_simple(shape, options, args);
                  });
}

TEST_CASE("host API refuses bad calls with a clear error and launches nothing") {
  const AttentionShape shape{1, 1, 64, 64, 64};
  test::DeviceBuffer buf(size_t(64 * 64 * 2));
  test::DeviceBuffer lse(64 * sizeof(float));
  const cuda::ForwardArgs ok{buf.ptr, buf.ptr, buf.ptr, buf.ptr, lse.as<float>()};
  CHECK(test::error_of([&] {
          cuda::flash_forward({1, 1, 64, 64, 48}, {}, DType::F16, ok);
        }).find("head_dim 48 is not supported") != std::string::npos);
  CHECK(test::error_of([&] {
          cuda::flash_forward(shape, {}, DType::F32, ok);
        }).find("dtype fp32") != std::string::npos);
  cuda::ForwardArgs null_q = ok;
  null_q.q = nullptr;
  CHECK(test::error_of([&] {
          cuda::flash_forward(shape, {}, DType::F16, null_q);
        }).find("q is a null pointer") != std::string::npos);
  cuda::ForwardArgs misaligned = ok;
  misaligned.k = static_cast<char*>(buf.ptr) + 2;
  CHECK(test::error_of([&] {
          cuda::flash_forward(shape, {}, DType::F16, misaligned);
        }).find("k must be 16-byte aligned") != std::string::npos);
  CHECK(test::error_of([&] {
          cuda::flash_forward({1, 1, 0, 64, 64}, {}, DType::F16, ok);
        }).find("seq_q") != std::string::npos);
  CHECK(test::error_of([&] {
          cuda::flash_forward({1, 1, 64, 64, 32}, {}, DType::F16, ok, nullptr,
                              cuda::FusedKernel::Wgmma);
        }).find("wgmma kernel is built for head_dim 64, 96, 128, 256, not 32") !=
        std::string::npos);
  CHECK(test::error_of([&] {
          cuda::flash_forward({1, 1, 64, 64, 32}, {}, DType::F16, ok, nullptr,
                              cuda::FusedKernel::WgmmaTma);
        })
            .find("is built at head_dim 64, 96, 128, 256 without dropout or tile_log, not at "
                  "head_dim 32") != std::string::npos);
  CHECK(
      test::error_of([&] { cuda::flash_backward_tiles(32, false, cuda::FusedKernel::WgmmaSerial); })
          .find("flash_backward_tiles: FusedKernel wgmma serial is built at head_dim 64, 96, 128, "
                "256 without dropout or tile_log, not at head_dim 32") != std::string::npos);
  // Which forwards run their softmax under their products (the model's schedule): the
  // rungs with a producer, and so the defaults at every head dim, with dropout or without.
  CHECK(test::error_of([&] {
          cuda::flash_forward_overlaps_softmax(48, false);
        }).find("head_dim 48 is not supported") != std::string::npos);
  CHECK_FALSE(cuda::flash_forward_overlaps_softmax(128, false, cuda::FusedKernel::MmaSync));
  CHECK_FALSE(cuda::flash_forward_keeps_max(128, false, cuda::FusedKernel::MmaSync));
  CHECK(test::error_of([&] {
          cuda::flash_forward_keeps_max(48, false);
        }).find("head_dim 48 is not supported") != std::string::npos);
  if (cuda::wgmma_forward_available(128)) {
    CHECK(cuda::flash_forward_overlaps_softmax(128, false));
    CHECK(cuda::flash_forward_overlaps_softmax(128, true));
    CHECK(cuda::flash_forward_overlaps_softmax(64, false));
    CHECK(cuda::flash_forward_overlaps_softmax(64, true));  // persistent, as without dropout
    CHECK_FALSE(cuda::flash_forward_overlaps_softmax(128, false, cuda::FusedKernel::WgmmaTma));
    CHECK_FALSE(cuda::flash_forward_overlaps_softmax(128, false, cuda::FusedKernel::WgmmaKeptMax));
    CHECK(cuda::flash_forward_overlaps_softmax(64, false, cuda::FusedKernel::WgmmaPersistent));
    CHECK(cuda::flash_forward_overlaps_softmax(128, false,
                                               cuda::FusedKernel::WgmmaPersistentDynamic));
    CHECK(cuda::flash_forward_overlaps_softmax(256, false));  // warp-specialised, as d = 128
    CHECK(cuda::flash_forward_overlaps_softmax(96, false));   // the d = 128 kernel, padded
    // Which keep the running max (the model's kept_max): the rungs from KeptMax on, so every
    // default wgmma forward, with dropout too (persistent at d = 64, warp-specialised above).
    for (const int64_t d : {64, 96, 128, 256}) {
      INFO("d=" << d);
      CHECK(cuda::flash_forward_keeps_max(d, false));
      CHECK(cuda::flash_forward_keeps_max(d, true));
      CHECK_FALSE(cuda::flash_forward_keeps_max(d, true, cuda::FusedKernel::MmaSync));
      CHECK_FALSE(cuda::flash_forward_keeps_max(d, false, cuda::FusedKernel::WgmmaOverlap));
      CHECK(cuda::flash_forward_keeps_max(d, false, cuda::FusedKernel::WgmmaKeptMax));
      CHECK(cuda::flash_forward_keeps_max(d, false, cuda::FusedKernel::WgmmaTma));
    }
    // The tiles each call runs. Forward: per rung (d = 64 with a producer: 160 keys where seq_k
    // pads them little, under a causal mask only from 8192 keys on, else 128; without a producer
    // 64; with dropout 128, never 160), and d = 96 on the d = 128 kernel's. Backward: 128
    // queries per block at d = 64 without dropout (wgmma), 64 elsewhere; 64 keys (shared by both
    // warpgroups) at d = 256.
    using K = cuda::FusedKernel;
    struct Expected {
      bool backward;
      int64_t d, seq_k;
      bool dropout, causal;
      K kernel;
      int64_t rows, cols;
    };
    for (const Expected& e : {
             Expected{false, 64, 2048, false, false, K::Wgmma, 128, 160},
             Expected{false, 64, 2000, false, false, K::Auto, 128, 160},
             Expected{false, 64, 1024, false, false, K::Wgmma, 128, 128},  // 1120 keys padded
             Expected{false, 64, 2048, false, true, K::Wgmma, 128, 128},
             Expected{false, 64, 2048, true, false, K::Wgmma, 128, 128},  // dropout: not 160
             Expected{false, 64, 2048, false, false, K::WgmmaTma, 128, 64},
             Expected{false, 64, 2048, false, false, K::WgmmaKeptMax, 128, 64},
             Expected{false, 64, 8192, false, false, K::WgmmaWarpSpecialized, 128, 160},
             Expected{false, 64, 8192, false, true, K::WgmmaWarpSpecialized, 128, 160},
             Expected{false, 64, 8000, false, true, K::Wgmma, 128, 128},
             Expected{false, 64, 16384, false, true, K::Auto, 128, 160},
             Expected{false, 64, 4096, false, false, K::WgmmaPersistent, 128, 160},
             Expected{false, 64, 4096, false, true, K::WgmmaPersistentDynamic, 128, 128},
             Expected{false, 128, 2048, false, false, K::WgmmaTma, 128, 128},
             Expected{false, 128, 2048, false, false, K::Auto, 128, 128},
             Expected{false, 96, 2048, false, false, K::Auto, 128, 128},
             Expected{false, 96, 2048, true, false, K::Auto, 128, 128},
             Expected{false, 96, 2048, false, false, K::MmaSync, 128, 64},
             Expected{false, 96, 2048, false, false, K::WgmmaSerial, 128, 128},
             Expected{false, 256, 2048, false, false, K::WgmmaPingpong, 128, 64},
             Expected{false, 256, 2048, false, false, K::WgmmaPersistentDynamic, 128, 64},
             Expected{true, 64, 2048, false, false, K::Auto, 128, 128},
             Expected{true, 64, 2048, true, false, K::Auto, 64, 128},
             Expected{true, 128, 2048, false, false, K::Auto, 64, 128},
             Expected{true, 96, 2048, false, false, K::Auto, 64, 128},
             Expected{true, 256, 2048, false, false, K::Auto, 64, 64},
             Expected{true, 64, 2048, false, false, K::MmaSync, 64, 128},
             Expected{true, 96, 2048, false, false, K::WgmmaSerial, 64, 128},
             Expected{true, 256, 2048, false, false, K::WgmmaTma, 64, 64},
         }) {
      const AttentionShape call{1, 1, 2048, e.seq_k, e.d};
      AttentionOptions options;
      options.causal = e.causal;
      options.dropout_p = e.dropout ? 0.1 : 0.0;
      const TileSizes t = e.backward ? cuda::flash_backward_tiles(e.d, e.dropout, e.kernel)
                                     : cuda::flash_forward_tiles(call, options, e.kernel);
      INFO((e.backward ? "backward" : "forward")
           << " d=" << e.d << " seq_k=" << e.seq_k << " dropout=" << e.dropout
           << " causal=" << e.causal << " " << cuda::to_string(e.kernel));
      CHECK(t.block_rows == e.rows);
      CHECK(t.block_cols == e.cols);
    }
  } else {
    MESSAGE("flash_forward_overlaps_softmax's wgmma answers NOT tested: no sm_90 GPU here");
  }
  AttentionOptions dropout;
  dropout.dropout_p = 0.1;
  CHECK(test::error_of([&] {
          cuda::flash_forward(shape, dropout, DType::F16, ok, nullptr,
                              cuda::FusedKernel::WgmmaSerial);
        })
            .find("wgmma serial is built at head_dim 64, 96, 128, 256 without dropout or "
                  "tile_log, not at head_dim 64 with dropout") != std::string::npos);
  CHECK(test::error_of([&] {
          cuda::flash_forward(shape, dropout, DType::F16, ok, nullptr,
                              cuda::FusedKernel::WgmmaPersistent);
        }).find("wgmma persistent is built at head_dim 64, 96, 128, 256 without dropout") !=
        std::string::npos);
  const cuda::BackwardArgs ok_bwd{buf.ptr,         buf.ptr, buf.ptr, buf.ptr, buf.ptr,
                                  lse.as<float>(), buf.ptr, buf.ptr, buf.ptr};
  CHECK(test::error_of([&] {
          cuda::flash_backward(shape, {}, DType::F16, ok_bwd, buf.ptr, nullptr,
                               cuda::FusedKernel::WgmmaPingpong);
        }).find("flash_backward: FusedKernel wgmma pingpong is a rung of the forward's ladder") !=
        std::string::npos);
  CHECK(test::error_of([&] {
          cuda::flash_backward(shape, {}, DType::F16, ok_bwd, buf.ptr, nullptr,
                               cuda::FusedKernel::WgmmaKeptMax);
        }).find("flash_backward: FusedKernel wgmma kept max is a rung of the forward's ladder") !=
        std::string::npos);
  CHECK(
      test::error_of([&] {
        cuda::flash_backward({1, 1, 64, 64, 32}, {}, DType::F16, ok_bwd, buf.ptr, nullptr,
                             cuda::FusedKernel::Wgmma);
      }).find("flash_backward: the wgmma kernel is built for head_dim 64, 96, 128, 256, not 32") !=
      std::string::npos);
  CHECK(test::error_of([&] {
          cuda::flash_backward(shape, {}, DType::F16, ok_bwd, nullptr);
        }).find("workspace is a null pointer") != std::string::npos);
}

TEST_CASE("sanitizer: small forward cases of the fast and teaching kernels") {
  // Small enough for compute-sanitizer (memcheck, racecheck): tails, causal, dropout, sparse.
  // 150 rows with 64-row sparse blocks: the last 128-row query block reaches rows past the
  // layout, which the kernels must not look up.
  FLASHLAB_TEST_RNG(rng, "sanitizer forward");
  check_fast_forward({{{1, 2, 77, 130, 64}, true, 0.1},
                      {{1, 1, 70, 70, 128}, false, 0.0, "butterfly"},
                      {{1, 1, 150, 150, 64}, true, 0.0, "random:0.4"},
                      {{1, 1, 150, 260, 128}, true},
                      {{1, 1, 150, 8200, 64}, true},  // causal on 160-key blocks
                      {{1, 1, 33, 40, 256}, true},
                      {{1, 1, 20, 20, 32}},
                      {{1, 1, 65, 9, 96}, true},
                      {{1, 2, 200, 140, 128}, false, 0.15}},  // the kept max with dropout
                     rng);
  check_ladder_rungs({{{1, 1, 70, 70, 128}, false, 0.0, "butterfly"},
                      {{1, 1, 150, 150, 64}, true, 0.0, "random:0.4"},
                      {{1, 1, 150, 260, 128}, true},
                      {{1, 1, 65, 90, 96}, true},
                      {{1, 1, 33, 140, 256}},
                      {{1, 136, 10, 12, 64}, true}},  // 136 units: persistent blocks take two
                     rng);
  check_forward({{1, 2, 37, 29, 24}, true, 0.2}, DType::F32, rng,
                [](auto& shape, auto& options, const cuda::ForwardArgs& args) {
                  cuda::flash_forward_simple(shape, options, args);
                });
}
