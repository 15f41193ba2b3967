// SVG line charts on log-log axes, written by hand: panel layout, ticks, polylines, legend.
#include <flashlab/cli/svg_chart.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <flashlab/cli/units.hpp>
#include <flashlab/core/error.hpp>
#include <sstream>

namespace flashlab::cli {
namespace {

constexpr double kPanelWidth = 520, kPanelHeight = 380;
constexpr double kMarginLeft = 80, kMarginRight = 20, kMarginTop = 40, kMarginBottom = 80;
constexpr double kTitleHeight = 56;

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", v);
  return buffer;
}

// Drops a trailing ".0"/".00" of a formatted number: "1.00 MiB" -> "1 MiB".
std::string strip_zero_decimals(std::string s) {
  const size_t dot = s.find('.');
  if (dot == std::string::npos) return s;
  size_t end = dot + 1;
  while (end < s.size() && s[end] == '0') ++end;
  if (end < s.size() && std::isdigit(static_cast<unsigned char>(s[end]))) return s;
  return s.substr(0, dot) + s.substr(end);
}

struct Range {
  double lo = 0, hi = 0;  // log10 of the axis ends
};

Range log_range(double lo, double hi) {
  double a = std::log10(lo), b = std::log10(hi);
  if (b - a < 1e-9) {  // a single value: show a decade around it
    a -= 0.5;
    b += 0.5;
  }
  const double pad = 0.04 * (b - a);
  return {a - pad, b + pad};
}

// Ticks of a log axis: powers of two for bytes, else 1-2-5 multiples of powers of ten, thinned
// to at most ~8.
std::vector<double> log_ticks(Range r, AxisUnit unit) {
  std::vector<double> ticks;
  if (unit == AxisUnit::Bytes) {
    const double lo2 = r.lo / std::log10(2.0), hi2 = r.hi / std::log10(2.0);
    const int step = std::max(1, int(std::ceil((hi2 - lo2) / 8.0)));
    for (int k = int(std::ceil(lo2)); k <= int(std::floor(hi2)); ++k)
      if (k % step == 0) ticks.push_back(std::ldexp(1.0, k));
    return ticks;
  }
  const int decades = int(std::floor(r.hi)) - int(std::ceil(r.lo));
  const std::vector<double> mantissas = decades >= 3   ? std::vector<double>{1}
                                        : decades >= 1 ? std::vector<double>{1, 2, 5}
                                                       : std::vector<double>{1, 1.5, 2, 3, 5, 7};
  const int step = std::max(1, (decades + 7) / 8);
  for (int e = int(std::floor(r.lo)); e <= int(std::ceil(r.hi)); ++e) {
    if (e % step != 0) continue;
    for (double m : mantissas) {
      const double v = m * std::pow(10.0, e);
      if (std::log10(v) >= r.lo && std::log10(v) <= r.hi) ticks.push_back(v);
    }
  }
  return ticks;
}

}  // namespace

std::string tick_label(double value, AxisUnit unit) {
  switch (unit) {
    case AxisUnit::Bytes:
      return strip_zero_decimals(format_bytes(value));
    case AxisUnit::Seconds:
      return strip_zero_decimals(format_seconds(value));
    case AxisUnit::Count:
      return strip_zero_decimals(format_count(value));
    case AxisUnit::Plain:
      break;
  }
  char buffer[32];
  const double a = std::fabs(value);
  if (a >= 1024 && std::fmod(a, 1024.0) == 0) {
    std::snprintf(buffer, sizeof buffer, "%gk", value / 1024.0);
  } else {
    std::snprintf(buffer, sizeof buffer, "%g", value);
  }
  return buffer;
}

std::string render_svg_chart(const std::string& title, const std::string& subtitle,
                             const std::vector<ChartPanel>& panels) {
  const double width = kPanelWidth * double(std::max<size_t>(1, panels.size()));
  const double height = kTitleHeight + kPanelHeight;
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << number(width) << "\" height=\""
      << number(height) << "\" viewBox=\"0 0 " << number(width) << " " << number(height)
      << "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << number(width / 2) << "\" y=\"26\" text-anchor=\"middle\" font-size=\"16\""
      << " font-weight=\"bold\">" << escape(title) << "</text>\n"
      << "<text x=\"" << number(width / 2) << "\" y=\"46\" text-anchor=\"middle\" font-size=\"12\""
      << " fill=\"#555\">" << escape(subtitle) << "</text>\n";

  for (size_t p = 0; p < panels.size(); ++p) {
    const ChartPanel& panel = panels[p];
    double x_min = INFINITY, x_max = -INFINITY, y_min = INFINITY, y_max = -INFINITY;
    for (const ChartSeries& s : panel.series)
      for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
        if (!(s.x[i] > 0 && s.y[i] > 0 && std::isfinite(s.x[i]) && std::isfinite(s.y[i]))) continue;
        x_min = std::min(x_min, s.x[i]);
        x_max = std::max(x_max, s.x[i]);
        y_min = std::min(y_min, s.y[i]);
        y_max = std::max(y_max, s.y[i]);
      }
    require(x_min <= x_max, "chart panel '" + panel.title + "' has no point with positive values");
    const Range xr = log_range(x_min, x_max), yr = log_range(y_min, y_max);
    const double left = double(p) * kPanelWidth + kMarginLeft;
    const double top = kTitleHeight + kMarginTop;
    const double plot_w = kPanelWidth - kMarginLeft - kMarginRight;
    const double plot_h = kPanelHeight - kMarginTop - kMarginBottom;
    auto px = [&](double x) { return left + (std::log10(x) - xr.lo) / (xr.hi - xr.lo) * plot_w; };
    auto py = [&](double y) {
      return top + plot_h - (std::log10(y) - yr.lo) / (yr.hi - yr.lo) * plot_h;
    };

    svg << "<g>\n<text x=\"" << number(left + plot_w / 2) << "\" y=\"" << number(top - 14)
        << "\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">" << escape(panel.title)
        << "</text>\n";
    // Grid and ticks.
    std::vector<double> x_ticks;
    for (double t : panel.x_ticks)
      if (t > 0 && std::log10(t) >= xr.lo && std::log10(t) <= xr.hi) x_ticks.push_back(t);
    if (x_ticks.empty() || x_ticks.size() > 12) x_ticks = log_ticks(xr, panel.x_unit);
    double last_label_end = -INFINITY;
    for (double t : x_ticks) {
      // Skip a label that would overlap the previous one (about 7 px per character).
      const double half = 3.5 * double(tick_label(t, panel.x_unit).size());
      if (px(t) - half < last_label_end + 6) continue;
      last_label_end = px(t) + half;
      svg << "<line x1=\"" << number(px(t)) << "\" y1=\"" << number(top) << "\" x2=\""
          << number(px(t)) << "\" y2=\"" << number(top + plot_h)
          << "\" stroke=\"#e5e5e5\"/>\n<text x=\"" << number(px(t)) << "\" y=\""
          << number(top + plot_h + 16) << "\" text-anchor=\"middle\">"
          << escape(tick_label(t, panel.x_unit)) << "</text>\n";
    }
    for (double t : log_ticks(yr, panel.y_unit)) {
      svg << "<line x1=\"" << number(left) << "\" y1=\"" << number(py(t)) << "\" x2=\""
          << number(left + plot_w) << "\" y2=\"" << number(py(t))
          << "\" stroke=\"#e5e5e5\"/>\n<text x=\"" << number(left - 6) << "\" y=\""
          << number(py(t) + 4) << "\" text-anchor=\"end\">" << escape(tick_label(t, panel.y_unit))
          << "</text>\n";
    }
    svg << "<rect x=\"" << number(left) << "\" y=\"" << number(top) << "\" width=\""
        << number(plot_w) << "\" height=\"" << number(plot_h)
        << "\" fill=\"none\" stroke=\"#333\"/>\n";
    svg << "<text x=\"" << number(left + plot_w / 2) << "\" y=\"" << number(top + plot_h + 38)
        << "\" text-anchor=\"middle\">" << escape(panel.x_label) << " (log scale)</text>\n";
    svg << "<text transform=\"translate(" << number(left - 64) << " " << number(top + plot_h / 2)
        << ") rotate(-90)\" text-anchor=\"middle\">" << escape(panel.y_label)
        << " (log scale)</text>\n";

    // Series, then the legend in one row under the x-axis label, where it hides no data.
    double legend_x = left;
    const double ly = top + plot_h + 62;
    for (size_t s = 0; s < panel.series.size(); ++s) {
      const ChartSeries& series = panel.series[s];
      std::string points;
      for (size_t i = 0; i < std::min(series.x.size(), series.y.size()); ++i) {
        const double x = series.x[i], y = series.y[i];
        if (!(x > 0 && y > 0 && std::isfinite(x) && std::isfinite(y))) continue;
        points += number(px(x)) + "," + number(py(y)) + " ";
        svg << "<circle cx=\"" << number(px(x)) << "\" cy=\"" << number(py(y))
            << "\" r=\"3\" fill=\"" << series.color << "\"/>\n";
      }
      svg << "<polyline fill=\"none\" stroke=\"" << series.color << "\" stroke-width=\"2\""
          << (series.dashed ? " stroke-dasharray=\"6 4\"" : "") << " points=\"" << points
          << "\"/>\n";
      svg << "<line x1=\"" << number(legend_x) << "\" y1=\"" << number(ly) << "\" x2=\""
          << number(legend_x + 24) << "\" y2=\"" << number(ly) << "\" stroke=\"" << series.color
          << "\" stroke-width=\"2\"" << (series.dashed ? " stroke-dasharray=\"6 4\"" : "")
          << "/>\n<text x=\"" << number(legend_x + 30) << "\" y=\"" << number(ly + 4) << "\">"
          << escape(series.name) << "</text>\n";
      legend_x += 30 + 7.0 * double(series.name.size()) + 24;
    }
    svg << "</g>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace flashlab::cli
