// Bar and panel geometry (layout.hpp): plain arithmetic on the space given.
#include <flashlab/viz/layout.hpp>

#include <algorithm>
#include <cmath>

namespace flashlab::viz {

BarGeometry bar_geometry(float width, float text_width, double value, double so_far, double scale) {
  BarGeometry g;
  width = std::max(width, 0.0f);
  g.text_below = width - text_width - kBarTextGap < kMinBarTrack;
  g.track = g.text_below ? width : width - text_width - kBarTextGap;
  g.text_x = g.text_below ? 0.0f : g.track + kBarTextGap;
  const auto share = [&](double x) {
    return scale > 0 ? float(std::clamp(x / scale, 0.0, 1.0)) * g.track : 0.0f;
  };
  g.full = share(value);
  g.done = std::min(share(so_far), g.full);
  return g;
}

SoftmaxLayout softmax_layout(float width, float height, float table_width) {
  SoftmaxLayout l;
  // Side by side, the charts take 42 % and the table the rest.
  const float charts = std::floor(width * 0.42f);
  l.side_by_side = charts >= kMinChartWidth && width - charts >= table_width;
  l.charts_width = l.side_by_side ? charts : width;
  l.charts_height = l.side_by_side ? height : std::floor(height * 0.5f);
  if (!l.side_by_side && l.charts_height < kMinChartHeight) l.charts_height = 0;  // table only
  return l;
}

}  // namespace flashlab::viz
