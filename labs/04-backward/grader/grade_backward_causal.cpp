// Grader of lab 4 (README.md), part 2: the causal backward, on square tiles and on tilings where
// B_r != B_c, N is a multiple of neither block and a key block starts at a tile's last row. A
// hint names a mistake only when the student's gradients equal what that mistake gives.
#include <cmath>
#include <string>

#include <flashlab/labs/causal_tiles.hpp>
#include <flashlab/labs/grading.hpp>

#include "backward.hpp"
#include "backward_checks.hpp"

namespace {

using namespace flashlab::labs;
using namespace flashlab::labs::lab4;
using namespace flashlab::labs::lab4::grading;

bool matches(const Problem& p, const Variant& v, const lab4::Gradients& g) {
  return compare_all(p, variant_gradients(p, v), g).empty();
}

// Sentences for wrong causal gradients, each only when they equal what that mistake gives.
std::string causal_hint(const Problem& p, const lab4::Gradients& g, const CausalTiling& t) {
  const auto unmasked_in_computed_tiles = [&](Index r, Index c) {
    return !in_skipped_tile(&causal_tile_hidden, t, r, c);
  };
  if (matches(p, {[](Index, Index) { return true; }}, g) ||
      matches(p, {unmasked_in_computed_tiles}, g))
    return ". Your gradients are what P recomputed without the mask gives: recompute S_ij "
           "with the forward's mask (score (r, c) is -inf when c > r; FA1 Alg. 4 l. 12), so that "
           "P_ij = 0 there; the saved m and l are those of the masked row.";
  if (matches(p, {[](Index r, Index c) { return c < r; }}, g))
    return ". Your gradients are what masking the diagonal too gives: the rule is c <= r.";
  for (const SkipRule& rule : wrong_causal_skip_rules())
    if (matches(p,
                {[&](Index r, Index c) { return c <= r && !in_skipped_tile(rule.skips, t, r, c); }},
                g))
      return ". Your gradients are " + explain(rule);
  return "";
}

std::string check_causal(const Problem& p) {
  const lab4::Gradients g = run(p);
  const std::string why = compare_all(p, p.ref, g);
  if (why.empty()) return "";
  const CausalTiling t{p.Q.rows(), p.K.rows(), p.cfg.Br, p.cfg.Bc, ""};
  return why + causal_hint(p, g, t);
}

}  // namespace

FLASHLAB_LAB_TEST("causal mask in the backward", 10) {
  FLASHLAB_LAB_REQUIRE_OK(check_causal(make_problem(4, 40, 40, 8, 8, 8, true)));
}

FLASHLAB_LAB_TEST("causal tiles are skipped by the right rule on unfriendly tilings", 15) {
  uint64_t seed = 40;
  for (const CausalTiling& t : unfriendly_causal_tilings()) {
    const std::string why = check_causal(make_problem(seed++, t.nq, t.nk, 8, t.Br, t.Bc, true));
    if (!why.empty()) FLASHLAB_LAB_FAIL(std::string(t.what) + ": " + why);
  }
}

FLASHLAB_LAB_TEST("tiles above the diagonal are skipped and not computed", 5) {
  // Keys 20..39 form whole key blocks (B_c = 5) that no query row (0..19) may see: every tile
  // of theirs is above the diagonal. With K and V there set to NaN, they reach the gradients
  // only if such a tile is computed (dS = P o (dP - D) = 0 NaN = NaN).
  Problem p = make_problem(41, 20, 40, 8, 4, 5, true);
  FLASHLAB_LAB_REQUIRE_OK(check_causal(p));
  p.K.bottomRows(20).setConstant(NAN);
  p.V.bottomRows(20).setConstant(NAN);
  const lab4::Gradients g = run(p);
  // p.ref holds the gradients of the NaN-free inputs: 0 for the hidden keys' dK and dV.
  if (const std::string why = compare_all(p, p.ref, g); !why.empty())
    FLASHLAB_LAB_FAIL(
        "with K and V rows 20..39 set to NaN: " + why +
        ". No query row sees those keys, so every tile of theirs is above the diagonal; your "
        "gradients changed, so such tiles were computed. Skip a tile (i, j) when "
        "c0 > r0 + rows - 1, before recomputing S_ij.");
}
