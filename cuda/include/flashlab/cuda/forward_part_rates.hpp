// The two halves of the wgmma forward's inner loop, each timed alone by a kernel of its own: the
// products at the kernel's shapes (S = Q K^T over 128 keys, O += P V) and one warpgroup's softmax
// step (the kernel's own fwd_softmax.cuh code on a 64-row tile held in registers); then the two
// together as the kernel's loop runs them (overlapped, with and without the pingpong). The
// simulator's performance model may take its constants from here (docs/simulator.md), never from
// the attention kernel's times: these kernels load nothing from HBM and multiply fixed tiles.
#pragma once

namespace flashlab::cuda {

struct ForwardPartRates {
  int head_dim = 0;
  // FLOP/s of the whole GPU issuing one warpgroup's S = Q K^T (64 x 128 x d) and O += P V
  // (64 x d x 128) back to back from shared memory, with one or two warpgroups per SM (the
  // forward runs two compute warpgroups per SM).
  double products_one_group_flops_per_s = 0;
  double products_two_groups_flops_per_s = 0;
  // Seconds one warpgroup's softmax step takes as the default rungs run it (since v26: the
  // 64 x 128 exponentials against the kept running max, row sums and maxima, P packed to 16 bits;
  // no rescale of O while the scores stay within the slack, as on these fixed tiles): with that
  // warpgroup alone on its SM, and per step when two warpgroups of an SM run theirs side by side.
  double softmax_one_group_s = 0;
  double softmax_two_groups_s = 0;
  // Exponentials in one warpgroup's step: 64 x 128 of P (none for a rescale).
  double exps_per_step = 0;
  // Seconds one step of the forward's inner loop takes on an SM (both warpgroups, each its
  // products and its softmax step: 128 query rows x 128 keys), the softmax after its own P V (as
  // the default rungs order them since v26) and the warpgroups issuing freely, or taking turns
  // (pingpong, FA3 §3.1) as the kernel does. Nothing is loaded: the kernel's own time per step adds
  // its loads, its producer's stages and its epilogue.
  double overlap_step_s = 0;
  double pingpong_step_s = 0;
  // d = 64 only (0 at 128, where a third warpgroup's registers spill): the same loop with three
  // warpgroups of 64 rows (FA3's d = 64 layout, without the pingpong), its step scaled to 128
  // rows (two thirds of its 192), so that it compares with the two above.
  double three_groups_step_s = 0;
  // What the parts alone give for such a step: both warpgroups' products at the two-group rate,
  // and both softmax steps one after the other (two x softmax_one_group_s). The loop takes at
  // least the longer and, with nothing hidden, about their sum.
  double products_step_s = 0;
  double softmax_step_s = 0;
  // softmax_step_s / pingpong_step_s: where the step takes longer than its products alone, the
  // share of its rate alone that the softmax keeps in the loop, beside the tensor cores (the
  // performance model's GpuRates::rest_rate_under_matmul).
  double rest_rate_under_products = 0;
};

// True when this build has the wgmma kernels and the current GPU runs them (sm_90).
bool forward_part_rates_available();

// Times both halves and the loop at head dim 64 or 128 (fp16); throws flashlab::Error when
// unavailable, for another head dim, or on a CUDA failure.
ForwardPartRates measure_forward_part_rates(int head_dim);

}  // namespace flashlab::cuda
