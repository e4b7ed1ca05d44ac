// src/report/svg_line.cpp — svg_line_chart of relapse/report/svg_plot.h: a
// metric against a numeric x (log scale optional), one line per series with
// error bars, reference lines, a legend and a caption. Every point carries
// its value in a <title> tooltip and a data-value attribute, like the bars.
#include <algorithm>
#include <cmath>
#include <set>

#include "relapse/report/svg_plot.h"
#include "svg_internal.h"

namespace relapse::report {

using namespace svg_detail;

namespace {

constexpr double kPlotW = 420;

struct LineAxes {
  double x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1, y_step = 1;
  double left = kMarginL, top = 0;
  bool log_x = false;
  double xv(double x) const { return log_x ? std::log10(x) : x; }
  double xpx(double x) const {
    const double span = x_hi - x_lo;
    return left + 20 + (span > 0 ? (xv(x) - x_lo) / span : 0.5) * (kPlotW - 40);
  }
  double ypx(double y) const { return top + kPlotH - (y - y_lo) / (y_hi - y_lo) * kPlotH; }
};

LineAxes line_axes(const SvgLineChart& c) {
  LineAxes ax;
  ax.log_x = c.log_x;
  double xl = INFINITY, xh = -INFINITY, yl = c.y_min, yh = std::max(c.y_min, c.y_max_hint);
  for (const auto& s : c.series)
    for (const auto& p : s.points) {
      if (c.log_x && !(p.x > 0)) continue;
      xl = std::min(xl, ax.xv(p.x)), xh = std::max(xh, ax.xv(p.x));
      for (double v : {p.y, p.lo, p.hi})
        if (std::isfinite(v)) yl = std::min(yl, v), yh = std::max(yh, v);
    }
  for (const auto& l : c.lines)
    if (std::isfinite(l.y)) yl = std::min(yl, l.y), yh = std::max(yh, l.y);
  if (!std::isfinite(xl)) xl = 0, xh = 1;
  if (yh <= yl) yh = yl + 1;
  ax.x_lo = xl, ax.x_hi = xh;
  ax.y_step = nice_step(yh - yl);
  ax.y_lo = std::floor(yl / ax.y_step + 1e-9) * ax.y_step;
  ax.y_hi = std::ceil(yh / ax.y_step - 1e-9) * ax.y_step;
  return ax;
}

// Grid, y ticks, x ticks at the points' x values, axis labels.
void line_axes_draw(std::ostringstream& os, const SvgLineChart& c, const LineAxes& ax) {
  const double right = ax.left + kPlotW, bottom = ax.top + kPlotH;
  for (double t = ax.y_lo; t <= ax.y_hi + ax.y_step * 1e-6; t += ax.y_step) {
    os << "<line x1=\"" << num(ax.left) << "\" y1=\"" << num(ax.ypx(t)) << "\" x2=\"" << num(right)
       << "\" y2=\"" << num(ax.ypx(t)) << "\" stroke=\"#e4e4e4\"/>\n";
    text(os, ax.left - 5, ax.ypx(t) + 4, svg_format(t, ax.y_step < 1 ? 1 : 0), "end", 11);
  }
  std::set<double> xs;
  for (const auto& s : c.series)
    for (const auto& p : s.points)
      if (!c.log_x || p.x > 0) xs.insert(p.x);
  char b[32];
  for (double x : xs) {
    std::snprintf(b, sizeof b, "%g", x);
    text(os, ax.xpx(x), bottom + 16, b, "middle", 11);
  }
  os << "<line x1=\"" << num(ax.left) << "\" y1=\"" << num(ax.top) << "\" x2=\"" << num(ax.left)
     << "\" y2=\"" << num(bottom) << "\" stroke=\"#000000\"/>\n"
     << "<line x1=\"" << num(ax.left) << "\" y1=\"" << num(bottom) << "\" x2=\"" << num(right)
     << "\" y2=\"" << num(bottom) << "\" stroke=\"#000000\"/>\n";
  text(os, ax.left + kPlotW / 2, bottom + 34, c.x_label + (c.log_x ? " (log scale)" : ""), "middle",
       12);
  text(os, ax.left - 44, ax.top + kPlotH / 2, c.y_label, "middle", 12,
       "transform=\"rotate(-90 " + num(ax.left - 44) + " " + num(ax.top + kPlotH / 2) + ")\"");
}

// One series: its line, then each point with its error bar and tooltip.
void line_series_draw(std::ostringstream& os, const SvgLineChart& c, const LineAxes& ax, size_t i) {
  const SvgSeries& s = c.series[i];
  const std::string color = svg_color(i);
  // Series side by side around each x, so error bars at the same x stay apart.
  const double shift = c.dodge * (static_cast<double>(i) - 0.5 * (c.series.size() - 1.0));
  std::string path;
  for (const auto& p : s.points)
    if (std::isfinite(p.y) && (!c.log_x || p.x > 0))
      path += (path.empty() ? "" : " ") + num(ax.xpx(p.x) + shift) + "," + num(ax.ypx(p.y));
  os << "<g class=\"series\" data-series=\"" << svg_escape(s.name) << "\">\n";
  if (!path.empty())
    os << "<polyline points=\"" << path << "\" fill=\"none\" stroke=\"" << color
       << "\" stroke-width=\"2\"/>\n";
  char b[32];
  for (const auto& p : s.points) {
    if (!std::isfinite(p.y) || (c.log_x && !(p.x > 0))) continue;
    const double x = ax.xpx(p.x) + shift, y = ax.ypx(p.y);
    const bool bar = std::isfinite(p.lo) && std::isfinite(p.hi);
    const std::string v = svg_format(p.y, c.decimals);
    std::snprintf(b, sizeof b, "%g", p.x);
    std::string tip = s.name + " at " + c.x_label + " " + b + ": " + v;
    if (bar) tip += " [" + svg_format(p.lo, c.decimals) + ", " + svg_format(p.hi, c.decimals) + "]";
    if (!p.note.empty()) tip += " (" + p.note + ")";
    os << "<g class=\"point\" data-value=\"" << v << "\"><title>" << svg_escape(tip)
       << "</title>\n";
    if (bar) {
      os << "<line x1=\"" << num(x) << "\" y1=\"" << num(ax.ypx(p.lo)) << "\" x2=\"" << num(x)
         << "\" y2=\"" << num(ax.ypx(p.hi)) << "\" stroke=\"" << color << "\"/>\n";
      for (double e : {p.lo, p.hi})
        os << "<line x1=\"" << num(x - 4) << "\" y1=\"" << num(ax.ypx(e)) << "\" x2=\""
           << num(x + 4) << "\" y2=\"" << num(ax.ypx(e)) << "\" stroke=\"" << color << "\"/>\n";
    }
    os << "<circle cx=\"" << num(x) << "\" cy=\"" << num(y) << "\" r=\"4\" fill=\"" << color
       << "\"/>\n</g>\n";
  }
  os << "</g>\n";
}

}  // namespace

std::string svg_line_chart(const SvgLineChart& c) {
  LineAxes ax = line_axes(c);
  const double width = std::max(ax.left + kPlotW + kMarginR + 150, 560.0);
  std::ostringstream os;
  double y = header(os, c.title, c.subtitle, width);
  double lx = ax.left;
  for (size_t i = 0; i < c.series.size(); ++i) {
    os << "<rect x=\"" << num(lx) << "\" y=\"" << num(y) << "\" width=\"12\" height=\"12\" fill=\""
       << svg_color(i) << "\"/>\n";
    text(os, lx + 16, y + 10, c.series[i].name, "start", 12);
    lx += 34 + 7.5 * c.series[i].name.size();
  }
  ax.top = y + 30;
  line_axes_draw(os, c, ax);
  // Reference lines across the plot, labelled at their right end; labels of
  // lines closer than a text line apart are pushed down so none overlaps.
  std::vector<std::pair<double, size_t>> at;  // (label y, line)
  for (size_t i = 0; i < c.lines.size(); ++i) {
    const auto& l = c.lines[i];
    if (!std::isfinite(l.y)) continue;
    os << "<line class=\"ref\" x1=\"" << num(ax.left) << "\" y1=\"" << num(ax.ypx(l.y))
       << "\" x2=\"" << num(ax.left + kPlotW) << "\" y2=\"" << num(ax.ypx(l.y)) << "\" stroke=\""
       << l.color << "\"" << (l.dashed ? " stroke-dasharray=\"6,4\"" : "") << "/>\n";
    at.emplace_back(ax.ypx(l.y) + 4, i);
  }
  std::sort(at.begin(), at.end());
  for (size_t k = 1; k < at.size(); ++k) at[k].first = std::max(at[k].first, at[k - 1].first + 13);
  for (const auto& [y, i] : at)
    text(os, ax.left + kPlotW + 6, y, c.lines[i].label + " " + svg_format(c.lines[i].y, c.decimals),
         "start", 11);
  for (size_t i = 0; i < c.series.size(); ++i) line_series_draw(os, c, ax, i);
  const double end = caption(os, c.caption, ax.top + kPlotH + 46, width);
  return doc(width, end + 14, os.str());
}

}  // namespace relapse::report
