// src/report/report_format.cpp — the formatting and look-ups the report's
// files share (report_format.h).
#include "report_format.h"

#include <cmath>
#include <cstdio>

namespace relapse::report {

std::string fmt(double v, int decimals) {
  if (!std::isfinite(v)) return kDash;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string fmt_g(double v) {
  if (!std::isfinite(v)) return kDash;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out.empty() ? kDash : out;
}

std::string fmt_band(double v, double lo, double hi) {
  std::string s = fmt_m(v);
  if (std::isfinite(v) && std::isfinite(lo) && std::isfinite(hi))
    s += " [" + fmt_m(lo) + ", " + fmt_m(hi) + "]";
  return s;
}

std::string fmt_signed_band(const GroupValue& d) {
  auto sgn = [](double x) { return std::isfinite(x) && x > 0 ? "+" + fmt_m(x) : fmt_m(x); };
  std::string s = sgn(d.mean);
  if (std::isfinite(d.mean) && std::isfinite(d.lo) && std::isfinite(d.hi))
    s += " [" + sgn(d.lo) + ", " + sgn(d.hi) + "]";
  return s;
}

const ModelResult* find_kind(const RunResult& r, const std::string& kind) {
  for (const auto& m : r.models)
    if (m.info.kind == kind) return &m;
  return nullptr;
}

const SummaryRow* find_row(const std::vector<SummaryRow>& rows, const std::string& model,
                           const std::string& precision) {
  for (const auto& s : rows)
    if (s.model == model && s.precision == precision) return &s;
  return nullptr;
}

}  // namespace relapse::report
