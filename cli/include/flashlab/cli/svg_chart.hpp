// A small, dependency-free SVG line chart: one or more panels side by side, each with log-scale
// x and y axes, labelled ticks, a legend and a title. Used by `flashlab sweep --chart`.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace flashlab::cli {

struct ChartSeries {
  std::string name;
  std::string color;  // any SVG colour, e.g. "#1f77b4"
  bool dashed = false;
  std::vector<double> x, y;  // points with a non-positive or non-finite coordinate are skipped
};

// How tick values are written: bytes and seconds get units, plain numbers stay short.
enum class AxisUnit { Plain, Bytes, Seconds, Count };

struct ChartPanel {
  std::string title;
  std::string x_label, y_label;
  AxisUnit x_unit = AxisUnit::Plain;
  AxisUnit y_unit = AxisUnit::Plain;
  std::vector<double> x_ticks;  // when set, x ticks sit at these values (e.g. the swept values)
  std::vector<ChartSeries> series;
};

// The complete SVG document (UTF-8): a bold title, a smaller subtitle line (may be empty) and
// the panels side by side. Throws flashlab::Error if a panel has no plottable point.
std::string render_svg_chart(const std::string& title, const std::string& subtitle,
                             const std::vector<ChartPanel>& panels);

// A tick label: "256", "4k", "64k" (Plain), "1 MiB", "10 ms", "1 G".
std::string tick_label(double value, AxisUnit unit);

}  // namespace flashlab::cli
