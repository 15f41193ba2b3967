// The visualizer's colours, in one place: the meaning colours (read, write, computed, resident,
// skipped), the heat-map ramp and one colour per tensor. Plain RGB so the screenshot test can
// look for the exact read/write colours in a PNG without including Dear ImGui.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <flashlab/simulator/machine/tensor_id.hpp>

namespace flashlab::viz::palette {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  constexpr bool operator==(const Rgb&) const = default;
};

// Movements of the current step. Cyan and orange stay apart from the heat map's blue-violet.
inline constexpr Rgb kRead{34, 211, 238};      // HBM -> SRAM
inline constexpr Rgb kWrite{251, 146, 60};     // SRAM -> HBM
inline constexpr Rgb kCompute{74, 222, 128};   // a block of S worked on on chip now
inline constexpr Rgb kComputed{36, 83, 74};    // a block of S already computed on chip
inline constexpr Rgb kResident{250, 204, 21};  // outline of tiles resident in SRAM
inline constexpr Rgb kSkipped{58, 60, 68};     // blocks the mask skips (FA1 Alg. 5)
inline constexpr Rgb kSkippedHatch{96, 99, 110};
inline constexpr Rgb kCellEmpty{35, 40, 54};  // heat 0
inline constexpr Rgb kBackground{20, 22, 28};
inline constexpr Rgb kPanel{26, 29, 37};
inline constexpr Rgb kAccent{99, 102, 241};
inline constexpr Rgb kText{226, 228, 236};
inline constexpr Rgb kTextDim{140, 146, 160};
inline constexpr Rgb kBaseline{148, 163, 184};  // the comparison algorithm in plots

// Two runs side by side (compare.hpp): a loop step where they differ, one where only the
// arithmetic differs, one where they agree; a lab 1 state that is wrong.
inline constexpr Rgb kDiverge{239, 68, 68};
inline constexpr Rgb kNote{202, 138, 4};
inline constexpr Rgb kSame{71, 85, 105};

// Heat map: transfers of a tile so far relative to the most any tile sees in the pass, on a
// sqrt scale (so a tile read once is visible next to one read T_c times).
inline Rgb heat(double fraction) {
  constexpr Rgb kStops[] = {{35, 40, 54},   {45, 58, 107},   {75, 79, 166},
                            {122, 98, 201}, {179, 139, 224}, {230, 200, 245}};
  constexpr int kLast = int(sizeof kStops / sizeof kStops[0]) - 1;
  const double t = std::sqrt(std::clamp(fraction, 0.0, 1.0)) * kLast;
  const int k = std::min(int(t), kLast - 1);
  const double f = t - k;
  auto mix = [f](uint8_t a, uint8_t b) { return uint8_t(std::lround(a + (b - a) * f)); };
  return {mix(kStops[k].r, kStops[k + 1].r), mix(kStops[k].g, kStops[k + 1].g),
          mix(kStops[k].b, kStops[k + 1].b)};
}

inline Rgb tensor_color(simulator::TensorId t) {
  using T = simulator::TensorId;
  switch (t) {
    case T::Q:
      return {96, 165, 250};
    case T::K:
      return {52, 211, 153};
    case T::V:
      return {45, 212, 191};
    case T::O:
      return {244, 114, 182};
    case T::l:
      return {192, 132, 252};
    case T::m:
      return {167, 139, 250};
    case T::L:
      return {129, 140, 248};
    case T::S:
      return {251, 191, 36};
    case T::P:
      return {245, 158, 11};
    case T::P_dropped:
      return {217, 119, 6};
    case T::dO:
      return {251, 113, 133};
    case T::dQ:
      return {147, 197, 253};
    case T::dQ_acc:
      return {125, 175, 240};
    case T::dK:
      return {110, 231, 183};
    case T::dV:
      return {94, 234, 212};
    case T::dS:
      return {252, 211, 77};
    case T::dP:
      return {253, 230, 138};
    case T::D:
      return {232, 121, 249};
    case T::Z:
      return {148, 163, 184};
    case T::None:
      break;
  }
  return {100, 116, 139};
}

}  // namespace flashlab::viz::palette
