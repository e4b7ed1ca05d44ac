// src/report/svg_plot.cpp — the SVG plotter of relapse/report/svg_plot.h.
// Plain string building: a fixed layout (sizes in px below), a "nice" y axis
// (ticks at 1, 2 or 5 × 10^k), text wrapped by word count. No dependencies.
#include "relapse/report/svg_plot.h"

#include "svg_internal.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace relapse::report {

namespace svg_detail {

// Layout (px).
// Characters per caption / subtitle line of a figure `width` px wide
// (~6.3 px per character at 11-12 px font).
size_t wrap_chars(double width) {
  return static_cast<size_t>(std::max(40.0, (width - 30) / 6.3));
}

std::string num(double v) {  // coordinates
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

std::vector<std::string> wrap(const std::string& text, size_t width) {
  std::vector<std::string> out;
  std::istringstream paras(text);
  std::string para;
  while (std::getline(paras, para)) {
    std::istringstream words(para);
    std::string w, line;
    while (words >> w) {
      if (!line.empty() && line.size() + 1 + w.size() > width) {
        out.push_back(line);
        line.clear();
      }
      line += (line.empty() ? "" : " ") + w;
    }
    out.push_back(line);
  }
  return out;
}

void text(std::ostringstream& os, double x, double y, const std::string& s, const char* anchor,
          int size, const std::string& extra) {
  os << "<text x=\"" << num(x) << "\" y=\"" << num(y) << "\" text-anchor=\"" << anchor
     << "\" font-size=\"" << size << "\"" << (extra.empty() ? "" : " " + extra) << ">"
     << svg_escape(s) << "</text>\n";
}

double nice_step(double range) {
  double raw = range / 5.0, p = std::pow(10.0, std::floor(std::log10(raw))), m = raw / p;
  return p * (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10);
}

// Title, subtitle lines; returns the y below them.
double header(std::ostringstream& os, const std::string& title, const std::string& subtitle,
              double width) {
  text(os, width / 2, 22, title, "middle", 16, "font-weight=\"bold\"");
  double y = kTitleH;
  for (const auto& l : wrap(subtitle, wrap_chars(width))) {
    y += kLineH - 2;
    text(os, width / 2, y, l, "middle", 12, "fill=\"#333333\"");
  }
  return y + 8;
}

double caption(std::ostringstream& os, const std::string& cap, double y, double width) {
  for (const auto& l : wrap(cap, wrap_chars(width))) {
    y += kLineH - 2;
    text(os, kMarginL - 50, y, l, "start", 11, "fill=\"#333333\"");
  }
  return y;
}

std::string doc(double w, double h, const std::string& body) {
  std::ostringstream os;
  os << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
     << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << num(w)
     << "\" height=\"" << num(h) << "\" viewBox=\"0 0 " << num(w) << " " << num(h)
     << "\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n"
     << "<rect x=\"0\" y=\"0\" width=\"" << num(w) << "\" height=\"" << num(h)
     << "\" fill=\"#ffffff\"/>\n"
     << body << "</svg>\n";
  return os.str();
}

}  // namespace svg_detail

namespace {

using namespace svg_detail;

double panel_width(const SvgPanel& p) {
  double w = 0;
  for (const auto& g : p.groups) w += g.bars.size() * (kBarW + kBarGap) + kGroupGap;
  return std::max(kMinPanelW, w + kGroupGap);
}

// A bar chart's shared y axis and the vertical layout of its plot area.
struct BarAxis {
  double lo = 0, hi = 1, step = 1;  // value range and tick step
  double top = 0, bottom = 0;       // plot area, px
  double key_offset = 40;           // reference-line keys below the x labels
  double ypx(double v) const { return bottom - (v - lo) / (hi - lo) * kPlotH; }
};

// The shared y range: every value, error bar end and reference line, on
// "nice" ticks.
void bar_axis_range(const SvgBarChart& c, BarAxis& ax) {
  double lo = c.y_min, hi = std::max(c.y_min, c.y_max_hint);
  for (const auto& p : c.panels) {
    for (const auto& g : p.groups)
      for (const auto& b : g.bars)
        for (double v : {b.value, b.lo, b.hi})
          if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    for (const auto& l : p.lines)
      if (std::isfinite(l.y)) lo = std::min(lo, l.y), hi = std::max(hi, l.y);
  }
  if (hi <= lo) hi = lo + 1;
  double step = nice_step(hi - lo);
  lo = std::floor(lo / step + 1e-9) * step;
  hi = std::ceil(hi / step - 1e-9) * step;
  ax.lo = lo;
  ax.hi = hi;
  ax.step = step;
}

// A panel's grid, ticks, axes and y label.
void bar_panel_axes(std::ostringstream& os, const SvgPanel& p, const BarAxis& ax, double x0,
                    double pw) {
  const double lo = ax.lo, hi = ax.hi, step = ax.step, top = ax.top, bottom = ax.bottom;
  auto ypx = [&](double v) { return ax.ypx(v); };
  for (double t = lo; t <= hi + step * 1e-6; t += step) {
    os << "<line x1=\"" << num(x0) << "\" y1=\"" << num(ypx(t)) << "\" x2=\"" << num(x0 + pw)
       << "\" y2=\"" << num(ypx(t)) << "\" stroke=\"#e4e4e4\" stroke-width=\"1\"/>\n";
    text(os, x0 - 5, ypx(t) + 4, svg_format(t, step < 1 ? 1 : 0), "end", 11);
  }
  os << "<line x1=\"" << num(x0) << "\" y1=\"" << num(top) << "\" x2=\"" << num(x0) << "\" y2=\""
     << num(bottom) << "\" stroke=\"#000000\"/>\n";
  os << "<line x1=\"" << num(x0) << "\" y1=\"" << num(ypx(std::max(lo, 0.0))) << "\" x2=\""
     << num(x0 + pw) << "\" y2=\"" << num(ypx(std::max(lo, 0.0))) << "\" stroke=\"#000000\"/>\n";
  const double ymid = (top + bottom) / 2, ylx = x0 - 40;
  text(os, ylx, ymid, p.y_label, "middle", 12,
       "transform=\"rotate(-90 " + num(ylx) + " " + num(ymid) + ")\"");
}

// A panel's bars (value labels, error bars, tooltips) and group labels.
void bar_panel_bars(std::ostringstream& os, const SvgBarChart& c, const SvgPanel& p,
                    const BarAxis& ax, double x0) {
  const double lo = ax.lo, bottom = ax.bottom;
  auto ypx = [&](double v) { return ax.ypx(v); };
  double x = x0 + kGroupGap;
  const double base = ypx(std::max(lo, 0.0));
  for (const auto& g : p.groups) {
    const double gx = x;
    for (const auto& b : g.bars) {
      size_t si = std::find(c.series.begin(), c.series.end(), b.series) - c.series.begin();
      const std::string v = svg_format(b.value, c.decimals);
      std::string tip = g.label + " · " + b.series + ": " + v;
      if (std::isfinite(b.lo) && std::isfinite(b.hi))
        tip += " [" + svg_format(b.lo, c.decimals) + ", " + svg_format(b.hi, c.decimals) + "]";
      if (!b.note.empty()) tip += " (" + b.note + ")";
      os << "<g class=\"bar\" data-series=\"" << svg_escape(b.series) << "\" data-value=\"" << v
         << "\"><title>" << svg_escape(tip) << "</title>\n";
      double label_y = base - 4;
      if (std::isfinite(b.value)) {
        double y1 = ypx(b.value);
        os << "<rect x=\"" << num(x) << "\" y=\"" << num(std::min(y1, base)) << "\" width=\""
           << num(kBarW) << "\" height=\"" << num(std::fabs(base - y1)) << "\" fill=\""
           << svg_color(si) << "\"/>\n";
        label_y = std::min(y1, base) - 4;
        if (std::isfinite(b.lo) && std::isfinite(b.hi)) {
          double cx = x + kBarW / 2, ylo = ypx(b.lo), yhi = ypx(b.hi);
          os << "<path d=\"M" << num(cx) << " " << num(ylo) << "V" << num(yhi) << "M" << num(cx - 5)
             << " " << num(ylo) << "h10M" << num(cx - 5) << " " << num(yhi)
             << "h10\" stroke=\"#000000\" stroke-width=\"1.3\" fill=\"none\"/>\n";
          label_y = std::min(label_y, yhi - 4);
        }
      }
      text(os, x + kBarW / 2, label_y, v, "middle", 10);
      if (p.bar_labels)
        text(os, x + kBarW / 2 + 3, bottom + 10, b.series, "end", 10,
             "transform=\"rotate(-40 " + num(x + kBarW / 2 + 3) + " " + num(bottom + 10) + ")\"");
      os << "</g>\n";
      x += kBarW + kBarGap;
    }
    if (!p.bar_labels) text(os, (gx + x - kBarGap) / 2, bottom + 16, g.label, "middle", 11);
    x += kGroupGap;
  }
}

// Reference lines across the plot; their labels in a key under the panel
// (inside the plot they would cover bars and data labels).
void bar_panel_lines(std::ostringstream& os, const SvgBarChart& c, const SvgPanel& p,
                     const BarAxis& ax, double x0, double pw) {
  auto ypx = [&](double v) { return ax.ypx(v); };
  double key_y = ax.bottom + ax.key_offset;
  for (const auto& l : p.lines) {
    if (!std::isfinite(l.y)) continue;
    const double ly = ypx(l.y);
    const std::string dash = l.dashed ? " stroke-dasharray=\"6 4\"" : "";
    os << "<g class=\"refline\" data-value=\"" << svg_format(l.y, c.decimals) << "\"><title>"
       << svg_escape(l.label) << "</title><line x1=\"" << num(x0) << "\" y1=\"" << num(ly)
       << "\" x2=\"" << num(x0 + pw) << "\" y2=\"" << num(ly) << "\" stroke=\"" << l.color
       << "\" stroke-width=\"1.8\"" << dash << "/>\n";
    os << "<line x1=\"" << num(x0) << "\" y1=\"" << num(key_y - 4) << "\" x2=\"" << num(x0 + 24)
       << "\" y2=\"" << num(key_y - 4) << "\" stroke=\"" << l.color << "\" stroke-width=\"1.8\""
       << dash << "/>\n";
    text(os, x0 + 28, key_y, l.label, "start", 10, "fill=\"" + l.color + "\"");
    os << "</g>\n";
    key_y += 14;
  }
}

}  // namespace

std::string svg_format(double v, int decimals) {
  if (!std::isfinite(v)) return "n/a";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

std::string svg_escape(const std::string& s) {
  std::string out;
  for (char c : s) switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  return out;
}

std::string svg_color(size_t i) {
  // Okabe–Ito (colour-blind safe), grey first for "full precision".
  static const char* const k[] = {"#555555", "#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                  "#56B4E9", "#D55E00", "#F0E442", "#000000"};
  return k[i % (sizeof k / sizeof k[0])];
}

std::string svg_bar_chart(const SvgBarChart& c) {
  BarAxis ax;
  bar_axis_range(c, ax);
  double width = kMarginL + kMarginR;
  for (size_t i = 0; i < c.panels.size(); ++i)
    width += panel_width(c.panels[i]) + (i ? kPanelGap : 0);
  width = std::max({width, 520.0, 9.5 * static_cast<double>(c.title.size()) + 40});
  std::ostringstream os;
  double y = header(os, c.title, c.subtitle, width);
  // Legend: one swatch per series.
  double lx = kMarginL;
  for (size_t i = 0; i < c.series.size(); ++i) {
    os << "<rect x=\"" << num(lx) << "\" y=\"" << num(y) << "\" width=\"12\" height=\"12\" fill=\""
       << svg_color(i) << "\"/>\n";
    text(os, lx + 16, y + 10, c.series[i], "start", 12);
    lx += 34 + 7.5 * c.series[i].size();
  }
  y += 22 + 34;  // legend row + panel titles and subtitles
  ax.top = y;
  ax.bottom = y + kPlotH;
  // The reference-line keys sit under the x labels (taller when rotated).
  bool rotated = false;
  for (const auto& p : c.panels) rotated = rotated || p.bar_labels;
  ax.key_offset = rotated ? 80 : 40;
  double x0 = kMarginL;
  for (size_t pi = 0; pi < c.panels.size(); ++pi) {
    const SvgPanel& p = c.panels[pi];
    const double pw = panel_width(p);
    os << "<g class=\"panel\">\n";
    text(os, x0 + pw / 2, ax.top - 22, p.title, "middle", 13, "font-weight=\"bold\"");
    text(os, x0 + pw / 2, ax.top - 8, p.subtitle, "middle", 10, "fill=\"#333333\"");
    bar_panel_axes(os, p, ax, x0, pw);
    bar_panel_bars(os, c, p, ax, x0);
    bar_panel_lines(os, c, p, ax, x0, pw);
    os << "</g>\n";
    x0 += pw + kPanelGap;
  }
  size_t n_lines = 0;
  for (const auto& p : c.panels) n_lines = std::max(n_lines, p.lines.size());
  double end =
      caption(os, c.caption,
              ax.bottom + (c.panels.empty() ? 0 : ax.key_offset - 10 + 14.0 * n_lines), width);
  return doc(width, end + 14, os.str());
}

std::string svg_heatmap(const SvgHeatmap& h) {
  constexpr double kCellW = 62, kCellH = 18;
  size_t label_chars = 4;
  for (const auto& l : h.row_labels) label_chars = std::max(label_chars, l.size());
  const double left = 24 + 6.2 * static_cast<double>(label_chars);
  const double width = std::max(left + kCellW * h.col_labels.size() + kMarginR, 560.0);
  std::ostringstream os;
  double y = header(os, h.title, h.subtitle, width) + 8;
  text(os, left + kCellW * h.col_labels.size() / 2, y + 4, h.x_label, "middle", 12);
  y += 22;
  for (size_t j = 0; j < h.col_labels.size(); ++j)
    text(os, left + kCellW * (j + 0.5), y, h.col_labels[j], "middle", 10);
  text(os, left - 6, y, h.y_label, "end", 10, "font-weight=\"bold\"");
  y += 6;
  for (size_t i = 0; i < h.values.size(); ++i) {
    const double ry = y + kCellH * i;
    text(os, left - 6, ry + 13, i < h.row_labels.size() ? h.row_labels[i] : "", "end", 10);
    for (size_t j = 0; j < h.values[i].size(); ++j) {
      const double v = h.values[i][j];
      const double t = std::isfinite(v) ? std::clamp(v / 100.0, 0.0, 1.0) : 0.0;
      // White → dark blue; the share decides the shade.
      char fill[16];
      std::snprintf(fill, sizeof fill, "#%02x%02x%02x", int(255 - t * (255 - 8)),
                    int(255 - t * (255 - 69)), int(255 - t * (255 - 148)));
      const std::string s = svg_format(v, h.decimals);
      std::string tip = (i < h.row_labels.size() ? h.row_labels[i] : "") + " · " +
                        (j < h.col_labels.size() ? h.col_labels[j] : "") + ": " + s + "%";
      if (i < h.row_notes.size() && !h.row_notes[i].empty()) tip += " (" + h.row_notes[i] + ")";
      os << "<g class=\"cell\" data-value=\"" << s << "\"><title>" << svg_escape(tip)
         << "</title><rect x=\"" << num(left + kCellW * j) << "\" y=\"" << num(ry) << "\" width=\""
         << num(kCellW) << "\" height=\"" << num(kCellH) << "\" fill=\"" << fill
         << "\" stroke=\"#ffffff\"/>\n";
      text(os, left + kCellW * (j + 0.5), ry + 13, s, "middle", 10,
           t > 0.55 ? "fill=\"#ffffff\"" : "fill=\"#000000\"");
      os << "</g>\n";
    }
  }
  double end = caption(os, h.caption, y + kCellH * h.values.size() + 8, width);
  return doc(width, end + 14, os.str());
}

}  // namespace relapse::report
