// SRAM footprints of the algorithms (as the algorithm files allocate their tiles), the default
// block sizes and the message that refuses a tiling.
#include <flashlab/simulator/algorithms/tiling_fit.hpp>

#include <algorithm>

#include <flashlab/core/error.hpp>

namespace flashlab::simulator {
namespace {

SramFootprint make(std::string pass, std::vector<FootprintItem> items) {
  SramFootprint f{std::move(pass), std::move(items), 0, 0};
  for (const FootprintItem& it : f.items) f.elements += it.elements;
  return f;
}

const SramFootprint& larger(const SramFootprint& a, const SramFootprint& b) {
  return b.elements > a.elements ? b : a;
}

// Each function lists the tiles one pass holds at its innermost step, with tiles clamped to the
// problem (br <= seq_q, bc <= seq_k). Keep in step with the allocations of the algorithm file.
SramFootprint standard_footprint(bool backward, int64_t br, int64_t bc, int64_t d) {
  // Blocked products (FA1 Alg. 0 l. 1, 3; FA1 Alg. 3 l. 1, 2, 4, 5): one block of each operand
  // and of the result, e.g. Q_i, K_j, S_ij.
  SramFootprint f = make("standard attention, blocked matrix product",
                         {{"left block (Br x d or Br x Bc)", br * d},
                          {"right block (Bc x d)", bc * d},
                          {"result block (Br x Bc or Br x d)", br * bc}});
  // Softmax when a full row of S does not fit: one S block and m, l, m~, l~ (FA1 Alg. 0 l. 2).
  f = larger(f, make("standard attention, softmax by blocks",
                     {{"S_ij", br * bc}, {"m, l, m~, l~", 4 * br}}));
  if (backward) {  // dS when a full row does not fit: P_ij, dP_ij and D (FA1 Alg. 3 l. 3).
    f = larger(f, make("standard attention backward, dS by blocks",
                       {{"P_ij, dP_ij", 2 * br * bc}, {"D_i", br}}));
  }
  return f;
}

SramFootprint flash_forward_footprint(int64_t br, int64_t bc, int64_t d) {
  return make("FlashAttention forward (FA1 Alg. 2)",
              {{"K_j, V_j", 2 * bc * d},
               {"Q_i, O_i", 2 * br * d},
               {"S_ij (P~_ij in place)", br * bc},
               {"l_i, m_i, m~_ij, l~_ij, m_new, l_new, e^{m-m_new}, e^{m~-m_new}", 8 * br}});
}

SramFootprint flash2_forward_footprint(int64_t br, int64_t bc, int64_t d) {
  return make("FlashAttention-2 forward (FA2 Alg. 1)", {{"Q_i, O_i", 2 * br * d},
                                                        {"K_j, V_j", 2 * bc * d},
                                                        {"S_ij (P~_ij in place)", br * bc},
                                                        {"m_i, l_i, e^{m_old-m_new}", 3 * br}});
}

SramFootprint flash2_backward_footprint(int64_t br, int64_t bc, int64_t d, bool dropout) {
  std::vector<FootprintItem> items = {{"K_j, V_j, dK_j, dV_j", 4 * bc * d},
                                      {"Q_i, dO_i, dQ_i", 3 * br * d},
                                      {"P_ij, dP_ij (dS_ij in place)", 2 * br * bc}};
  if (dropout) items.push_back({"P_ij^dropped", br * bc});
  items.push_back({"L_i, D_i", 2 * br});
  return make("FlashAttention-2 backward (FA2 Alg. 2)", std::move(items));
}

SramFootprint flash_backward_footprint(int64_t br, int64_t bc, int64_t d, bool dropout) {
  std::vector<FootprintItem> items = {{"K_j, V_j, dK~_j, dV~_j", 4 * bc * d},
                                      {"Q_i, O_i, dO_i, dQ_i", 4 * br * d},
                                      {"P_ij, dP_ij (dS_ij in place)", 2 * br * bc}};
  if (dropout) items.push_back({"P_ij^dropped", br * bc});
  items.push_back({"l_i, m_i, D_i", 3 * br});
  return make("FlashAttention backward (FA1 Alg. 4)", std::move(items));
}

std::string bytes_text(int64_t elements, int element_bytes) {
  return std::to_string(elements * element_bytes) + " B";
}

}  // namespace

SramFootprint sram_footprint(const FitQuery& q, const TileSizes& tiles) {
  validate(tiles);
  const int64_t br = std::min(tiles.block_rows, q.shape.seq_q);
  const int64_t bc = std::min(tiles.block_cols, q.shape.seq_k);
  const int64_t d = q.shape.head_dim;
  SramFootprint f;
  switch (q.algorithm) {
    case Algorithm::Standard:
      f = standard_footprint(q.backward, br, bc, d);
      break;
    case Algorithm::Flash:
      f = flash_forward_footprint(br, bc, d);
      if (q.backward) f = larger(f, flash_backward_footprint(br, bc, d, q.dropout));
      break;
    case Algorithm::Flash2:  // each pass has its own tiles (FA2 picks them apart)
      f = q.backward ? flash2_backward_footprint(br, bc, d, q.dropout)
                     : flash2_forward_footprint(br, bc, d);
      break;
  }
  f.bytes = f.elements * q.element_bytes;
  return f;
}

// FA2's own tiles (FA2 §3.3: {64, 128} x {64, 128} by head dimension, as its kernels pick them):
// forward B_r = 128 query rows, B_c = 128 keys for d <= 64 and 64 above (32 with dropout, which
// needs registers for the random numbers); backward B_r = 64, B_c = 128 for d <= 128 and 64 x 64
// above. Halved (B_c first) until they fit the SRAM.
TileSizes fa2_tiles(const FitQuery& q) {
  const int64_t d = q.shape.head_dim;
  TileSizes t = q.backward ? TileSizes{64, d <= 128 ? 128 : 64}
                           : TileSizes{128, d <= 64 ? 128 : (q.dropout ? 32 : 64)};
  auto fits = [&](const TileSizes& x) { return sram_footprint(q, x).bytes <= q.sram_bytes; };
  while (!fits(t) && (t.block_rows > 1 || t.block_cols > 1)) {
    if (t.block_cols >= t.block_rows && t.block_cols > 1)
      t.block_cols /= 2;
    else
      t.block_rows /= 2;
  }
  if (!fits(t)) require_tiles_fit(q, t);  // throws with the minimum SRAM
  return t;
}

TileSizes default_tiles(const FitQuery& q) {
  require(q.element_bytes >= 1,
          "element size must be >= 1 byte, got " + std::to_string(q.element_bytes));
  if (q.algorithm == Algorithm::Flash2) return fa2_tiles(q);
  const int64_t d = q.shape.head_dim;
  const int64_t M = q.sram_bytes / q.element_bytes;
  auto fits = [&](int64_t m_elements) {
    return sram_footprint(q, paper_tiling(m_elements, d)).bytes <= q.sram_bytes;
  };
  if (!fits(d)) require_tiles_fit(q, TileSizes{1, 1});  // throws with the minimum SRAM
  // Largest M' in [d, max(d, M)] whose tiles fit; footprints grow with M'.
  int64_t lo = d, hi = std::max(d, M);
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo + 1) / 2;
    if (fits(mid))
      lo = mid;
    else
      hi = mid - 1;
  }
  return paper_tiling(lo, d);
}

void require_tiles_fit(const FitQuery& q, const TileSizes& tiles) {
  validate(tiles);
  require(q.sram_bytes >= 1, "SRAM size must be >= 1 byte, got " + std::to_string(q.sram_bytes));
  const SramFootprint f = sram_footprint(q, tiles);
  if (f.bytes <= q.sram_bytes) return;

  auto fit_bytes = [&](int64_t br, int64_t bc) { return sram_footprint(q, {br, bc}).bytes; };
  // Largest value in [1, limit] of one block size that fits with the other fixed; 0 if none.
  auto largest = [&](int64_t limit, auto bytes_of) {
    if (bytes_of(1) > q.sram_bytes) return int64_t{0};
    int64_t lo = 1, hi = limit;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo + 1) / 2;
      if (bytes_of(mid) <= q.sram_bytes)
        lo = mid;
      else
        hi = mid - 1;
    }
    return lo;
  };
  const int64_t Br = tiles.block_rows, Bc = tiles.block_cols;
  const int64_t best_bc =
      largest(std::max<int64_t>(1, q.shape.seq_k), [&](int64_t bc) { return fit_bytes(Br, bc); });
  const int64_t best_br =
      largest(std::max<int64_t>(1, q.shape.seq_q), [&](int64_t br) { return fit_bytes(br, Bc); });
  const int64_t minimum = fit_bytes(1, 1);

  std::string msg = "tiles Br=" + std::to_string(Br) + ", Bc=" + std::to_string(Bc) +
                    " do not fit the SRAM: " + f.pass + " needs " + std::to_string(f.bytes) +
                    " bytes (";
  for (size_t k = 0; k < f.items.size(); ++k)
    msg += (k ? "; " : "") + f.items[k].tiles + ": " +
           bytes_text(f.items[k].elements, q.element_bytes);
  msg += ", at " + std::to_string(q.element_bytes) + " bytes per element) but the SRAM holds " +
         std::to_string(q.sram_bytes) + " bytes. ";
  msg += best_bc > 0 ? "With Br=" + std::to_string(Br) + " at most Bc=" + std::to_string(best_bc) +
                           " fits; "
                     : "No Bc fits with Br=" + std::to_string(Br) + "; ";
  msg += best_br > 0 ? "with Bc=" + std::to_string(Bc) + " at most Br=" + std::to_string(best_br) +
                           " fits; "
                     : "no Br fits with Bc=" + std::to_string(Bc) + "; ";
  if (minimum <= q.sram_bytes) {
    const TileSizes def = default_tiles(q);
    msg += "the default (paper's rule, shrunk to fit) is Br=" + std::to_string(def.block_rows) +
           ", Bc=" + std::to_string(def.block_cols) + "; ";
  }
  msg += "the minimum SRAM (Br=Bc=1) is " + std::to_string(minimum) + " bytes";
  throw Error(msg);
}

}  // namespace flashlab::simulator
