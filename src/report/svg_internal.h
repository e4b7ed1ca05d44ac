// src/report/svg_internal.h — what the SVG plotters of the report layer share
// (svg_plot.cpp: bar charts and heat maps; svg_line.cpp: line charts): the
// layout constants, coordinates, wrapped text, "nice" tick steps, the title
// block, the caption and the document wrapper. Internal to src/report.
#pragma once
#include <sstream>
#include <string>
#include <vector>

namespace relapse::report::svg_detail {

// Layout (px).
constexpr double kMarginL = 64, kMarginR = 24, kTitleH = 30, kLineH = 17;
constexpr double kPlotH = 280, kPanelGap = 44, kBarW = 28, kBarGap = 4, kGroupGap = 26;
constexpr double kMinPanelW = 230;

// Characters per caption / subtitle line of a figure `width` px wide.
size_t wrap_chars(double width);
// A coordinate ("%.1f").
std::string num(double v);
// Text wrapped at word boundaries to lines of at most `width` characters.
std::vector<std::string> wrap(const std::string& text, size_t width);
// One <text> element (escaped).
void text(std::ostringstream& os, double x, double y, const std::string& s, const char* anchor,
          int size, const std::string& extra = "");
// A tick step of 1, 2 or 5 × 10^k giving about five ticks over `range`.
double nice_step(double range);
// Title and wrapped subtitle; returns the y below them.
double header(std::ostringstream& os, const std::string& title, const std::string& subtitle,
              double width);
// The wrapped caption from y on; returns the y below it.
double caption(std::ostringstream& os, const std::string& cap, double y, double width);
// The standalone SVG document of size w × h around `body`.
std::string doc(double w, double h, const std::string& body);

}  // namespace relapse::report::svg_detail
