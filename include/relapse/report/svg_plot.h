// relapse/report/svg_plot.h — a small, dependency-free SVG plotter for the
// report figures (src/report/report_figures.cpp): grouped bar charts with
// error bars, labelled horizontal reference lines, a legend, a y axis with
// ticks, title / subtitle / caption; heat maps (rows × bins) for histograms;
// and line charts with error bars (a metric against a learning rate). Every plotted bar or cell
// carries its value twice — as a visible data label (when it fits) and in a <title> tooltip —
// formatted with svg_format, so a figure can be checked by re-reading the SVG text. All text is
// XML-escaped; the output is a standalone SVG 1.1 document.
#pragma once
#include <string>
#include <vector>

namespace relapse::report {

// One bar: its value, an optional error bar [lo, hi] (NaN = none) and the
// legend series it belongs to (its colour). A NaN value draws no bar and a
// "n/a" label.
struct SvgBar {
  std::string series;
  double value = 0, lo = 0, hi = 0;
  std::string note;  // extra tooltip text (e.g. "mean of 2 seeds")
};
// Bars drawn side by side above one x label.
struct SvgBarGroup {
  std::string label;
  std::vector<SvgBar> bars;
};
// A horizontal reference line across a panel; its label goes in a key under the panel.
struct SvgRefLine {
  double y = 0;
  std::string label;
  std::string color = "#444444";
  bool dashed = true;
};
struct SvgPanel {
  std::string title;
  std::string subtitle;  // one short line under the title (what "higher" means)
  std::string y_label;
  std::vector<SvgBarGroup> groups;
  std::vector<SvgRefLine> lines;
  bool bar_labels = false;  // print each bar's series under it (few bars per group)
};
struct SvgBarChart {
  std::string title, subtitle, caption;  // caption: one or more lines under the plot ('\n')
  std::vector<SvgPanel> panels;          // side by side, sharing one y range
  std::vector<std::string> series;       // legend order (and colour order)
  int decimals = 1;                      // value labels
  double y_min = 0;                      // the y range always includes y_min
  double y_max_hint = 0;                 // ... and this (e.g. 100 for a percentage)
};

// A matrix of shares shown as shaded cells with their values:
// rows (e.g. layers) × columns (e.g. histogram bins).
struct SvgHeatmap {
  std::string title, subtitle, caption;
  std::string x_label, y_label;
  std::vector<std::string> row_labels, col_labels;
  std::vector<std::vector<double>> values;  // [row][col], in [0, 100] (percent)
  std::vector<std::string> row_notes;       // optional tooltip suffix per row
  int decimals = 1;
};

// v with `decimals` decimals ("%.*f"); "n/a" for NaN / inf. The label text of
// every bar and cell.
std::string svg_format(double v, int decimals);
// & < > " ' as entities.
std::string svg_escape(const std::string& s);
// The colour of series i of a chart (a fixed colour-blind-friendly palette).
std::string svg_color(size_t i);

// A line chart: one line per series through its points, each point with an
// optional vertical error bar [lo, hi] (NaN = none), x on a log scale when
// log_x (every x > 0), the distinct x values as ticks, horizontal reference
// lines with their labels in a key under the plot (svg_line.cpp).
struct SvgPoint {
  double x = 0, y = 0, lo = 0, hi = 0;
  std::string note;  // extra tooltip text
};
struct SvgSeries {
  std::string name;
  std::vector<SvgPoint> points;  // in x order
};
struct SvgLineChart {
  std::string title, subtitle, caption, x_label, y_label;
  std::vector<SvgSeries> series;  // colour i = svg_color(i)
  std::vector<SvgRefLine> lines;
  bool log_x = false;
  int decimals = 1;
  double y_min = 0, y_max_hint = 0;  // the y range includes both
  double dodge = 0;  // pixels between series at the same x (0: drawn on top of each other)
};

std::string svg_bar_chart(const SvgBarChart& c);
std::string svg_line_chart(const SvgLineChart& c);
std::string svg_heatmap(const SvgHeatmap& h);

}  // namespace relapse::report
