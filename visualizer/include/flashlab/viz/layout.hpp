// Geometry of the panels that must stay readable at every window size (1024x700 up), as pure
// functions of the space given, so that the tests check them without a window.
#pragma once

namespace flashlab::viz {

// A byte bar and its number on one line of `width` pixels: the bar track from 0 to `track`, the
// pass's bar to `full`, the part done so far to `done`, and the number at `text_x`, after the
// track, so that no bar ever runs under its number. Bars of one panel share `text_width` (the
// widest of their numbers) so that their lengths compare. When the line cannot hold a track of
// kMinBarTrack beside the number, the number goes on the next line (text_below) and the track
// takes the whole width.
struct BarGeometry {
  float track = 0, full = 0, done = 0, text_x = 0;
  bool text_below = false;
};
inline constexpr float kMinBarTrack = 40.0f, kBarTextGap = 8.0f;
BarGeometry bar_geometry(float width, float text_width, double value, double so_far, double scale);

// The online-softmax panel: the charts beside the table of updates when both fit side by side
// (the table needs `table_width` pixels for every column, the charts kMinChartWidth), else the
// charts above and the table below, each the full width; when half the height is less than
// kMinChartHeight, the table alone (charts_height 0): the m, l and rescale of each update are
// what the panel is for. The table scrolls sideways if even the full width is narrower than
// `table_width`, with the rescale column first after j.
struct SoftmaxLayout {
  bool side_by_side = true;
  float charts_width = 0, charts_height = 0;  // the table takes the rest
};
inline constexpr float kMinChartWidth = 220.0f, kMinChartHeight = 140.0f;
SoftmaxLayout softmax_layout(float width, float height, float table_width);

}  // namespace flashlab::viz
