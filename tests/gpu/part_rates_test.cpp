// The microbenchmark of the wgmma forward's two halves and its loop (cuda/forward_part_rates.hpp),
// whose figures the simulator's performance model may take as constants: each is a rate a Hopper
// GPU can have, and a head dim it does not measure is refused.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include <flashlab/core/error.hpp>
#include <flashlab/cuda/forward_part_rates.hpp>

using namespace flashlab;

TEST_CASE("the forward's part rates are rates a Hopper GPU can have; other head dims refused") {
  if (!cuda::forward_part_rates_available()) {
    MESSAGE("forward part rates NOT tested: needs an sm_90 GPU and a build for sm_90a");
    CHECK_THROWS_AS(cuda::measure_forward_part_rates(64), Error);
    return;
  }
  // What the tensor cores can do at all: 4096 dense fp16 FLOPs per clock per SM (the datasheet's
  // 989 TFLOP/s over 132 SMs at 1.83 GHz), 132 SMs, the H100's and H200's top boost clock,
  // 1.98 GHz. A product rate above it would mean the FLOPs are miscounted (as in the first run,
  // 1.26e15, when ptxas had hoisted a product out of the loop).
  const double peak = 4096.0 * 132 * 1.98e9;
  for (const int d : {64, 128}) {
    CAPTURE(d);
    const cuda::ForwardPartRates r = cuda::measure_forward_part_rates(d);
    CHECK(r.head_dim == d);
    CHECK(r.products_one_group_flops_per_s > 0.1 * peak);
    CHECK(r.products_two_groups_flops_per_s > 0.1 * peak);
    CHECK(r.products_one_group_flops_per_s < peak);
    CHECK(r.products_two_groups_flops_per_s < peak);
    // 64 x 128 exponentials on one SM's 16 special-function lanes at under 2 GHz take at least
    // 256 ns; no step takes a millisecond.
    CHECK(r.exps_per_step == 64 * 128);
    CHECK(r.softmax_one_group_s > 0.25e-6);
    CHECK(r.softmax_two_groups_s > 0.25e-6);
    CHECK(r.softmax_one_group_s < 1e-3);
    CHECK(r.softmax_two_groups_s < 1e-3);
    // The loop's step holds both warpgroups' products and softmax steps: it cannot take less than
    // the products at their measured rate, nor than the two softmax steps side by side (10 %
    // below either for the timing's spread); hiding nothing, it would take about their sum (a
    // step twice that would mean the loop waits on something it does not contain).
    for (const double step : {r.overlap_step_s, r.pingpong_step_s}) {
      CHECK(step > 0.9 * r.products_step_s);
      CHECK(step > 0.9 * 2 * r.softmax_two_groups_s);
      CHECK(step < 2 * (r.products_step_s + r.softmax_step_s));
    }
    // Three warpgroups (d = 64 only): per 128 rows, the same bounds, but for the products, which a
    // third group may keep busier than two (half their two-group time is the floor then).
    if (d == 64) {
      CHECK(r.three_groups_step_s > 0.5 * r.products_step_s);
      CHECK(r.three_groups_step_s < 2 * (r.products_step_s + r.softmax_step_s));
    } else {
      CHECK(r.three_groups_step_s == 0);
    }
    CHECK(r.softmax_step_s == doctest::Approx(2 * r.softmax_one_group_s));
    // The model's rate under matmul: the softmax does not run faster in the loop than alone
    // (20 % for the two warpgroups side by side), and a loop that skipped it would show ~0.
    CHECK(r.rest_rate_under_products == doctest::Approx(r.softmax_step_s / r.pingpong_step_s));
    CHECK(r.rest_rate_under_products > 0.2);
    CHECK(r.rest_rate_under_products < 1.2);
  }
  CHECK_THROWS_WITH_AS(cuda::measure_forward_part_rates(96),
                       doctest::Contains("head dim 96 is not measured"), Error);
}
