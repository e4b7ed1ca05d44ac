// src/core/config_yaml.cpp — strict conversion between YAML nodes and typed
// config fields: YAML 1.2 core-schema booleans, integers and floats parsed
// here (not by yaml-cpp's lenient as<T>()), range-checked ints, shortest
// round-trip doubles, double-quoted strings; plus the "did you mean" helper.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <type_traits>

#include "config_internal.h"

namespace relapse::config_detail {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// A set at or above `path` ("model" covers "model.dtype" and "ids[2]" of "ids").
bool covers(const std::string& set_path, const std::string& path) {
  return set_path == path || starts_with(path, set_path + ".") || starts_with(path, set_path + "[");
}

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "an empty value";
    case YAML::NodeType::Scalar:
      return (n.Tag() == "?" ? "'" : "the quoted string '") + n.Scalar() + "'";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "nothing";
  }
}

[[noreturn]] void fail(const std::string& path, const std::string& where,
                       const std::string& expected, const YAML::Node& n,
                       const std::string& extra = "") {
  RELAPSE_THROW(ExitCode::kConfig, "config key '", path, "' in ", where, ": expected ", expected,
                ", got ", describe(n), extra);
}

// A plain (unquoted, untagged) scalar: the only kind that may be a number/bool.
bool plain(const YAML::Node& n) {
  return n.IsScalar() && n.Tag() == "?";
}

bool parse_bool(const std::string& s, bool* out) {
  if (s == "true" || s == "True" || s == "TRUE") return *out = true, true;
  if (s == "false" || s == "False" || s == "FALSE") return *out = false, true;
  return false;
}

// [-+]?[0-9]+ ; *range = false when it does not fit int64.
bool parse_int64(const std::string& s, int64_t* out, bool* range) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i == s.size()) return false;
  for (size_t j = i; j < s.size(); ++j)
    if (s[j] < '0' || s[j] > '9') return false;
  errno = 0;
  long long v = std::strtoll(s.c_str(), nullptr, 10);
  *range = errno != ERANGE;
  *out = static_cast<int64_t>(v);
  return true;
}

// YAML 1.2 core float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?,
// [-+]?.inf and .nan in their three spellings.
bool parse_double(const std::string& s, double* out) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  const std::string body = s.substr(i);
  const double sign = (i == 1 && s[0] == '-') ? -1.0 : 1.0;
  if (body == ".inf" || body == ".Inf" || body == ".INF")
    return *out = sign * std::numeric_limits<double>::infinity(), true;
  if (i == 0 && (body == ".nan" || body == ".NaN" || body == ".NAN"))
    return *out = std::numeric_limits<double>::quiet_NaN(), true;
  size_t digits = 0, j = i;
  while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j, ++digits;
  if (j < s.size() && s[j] == '.') {
    ++j;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j, ++digits;
  }
  if (digits == 0) return false;
  if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
    ++j;
    if (j < s.size() && (s[j] == '-' || s[j] == '+')) ++j;
    size_t exp_digits = 0;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  if (j != s.size()) return false;
  *out = std::strtod(s.c_str(), nullptr);  // overflow gives +-inf, as YAML readers do
  return true;
}

template <typename T>
const char* expected_name() {
  if constexpr (std::is_same_v<T, bool>) return "a boolean (true or false)";
  if constexpr (std::is_same_v<T, int>) return "an integer";
  if constexpr (std::is_same_v<T, int64_t>) return "an integer";
  if constexpr (std::is_same_v<T, double>) return "a number";
  if constexpr (std::is_same_v<T, std::string>) return "a string";
}

template <typename T>
const char* list_name() {
  if constexpr (std::is_same_v<T, int>) return "a list of integers";
  if constexpr (std::is_same_v<T, double>) return "a list of numbers";
  if constexpr (std::is_same_v<T, std::string>) return "a list of strings";
}

template <typename T>
void decode_one(const YAML::Node& n, T* out, const std::string& path, const std::string& where) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (n.IsNull()) {
      out->clear();
      return;
    }
    if (!n.IsScalar()) fail(path, where, expected_name<T>(), n);
    *out = n.Scalar();
  } else {
    if (!plain(n)) fail(path, where, expected_name<T>(), n);
    const std::string& s = n.Scalar();
    if constexpr (std::is_same_v<T, bool>) {
      if (!parse_bool(s, out)) fail(path, where, expected_name<T>(), n);
    } else if constexpr (std::is_same_v<T, double>) {
      if (!parse_double(s, out)) fail(path, where, expected_name<T>(), n);
    } else {
      int64_t v = 0;
      bool in_range = true;
      if (!parse_int64(s, &v, &in_range)) fail(path, where, expected_name<T>(), n);
      constexpr int64_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
      if (!in_range || v < lo || v > hi) {
        fail(path, where, detail::error_concat("an integer in [", lo, ", ", hi, "]"), n);
      }
      *out = static_cast<T>(v);
    }
  }
}

template <typename T>
void decode_list(const YAML::Node& n, std::vector<T>* out, const std::string& path,
                 const std::string& where) {
  if (!n.IsSequence()) {
    fail(path, where, list_name<T>(), n, " (write [a, b, ...])");
  }
  std::vector<T> v(n.size());
  for (size_t i = 0; i < n.size(); ++i) {
    decode_one(n[i], &v[i], path + "[" + std::to_string(i) + "]", where);
  }
  *out = std::move(v);
}

std::string encode_double(double v) {
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  char buf[40];
  // Whole numbers print as such ("90.0", not %g's "9e+01").
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.1f", v);
    return buf;
  }
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof(buf), "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos) s += ".0";  // reads as a float
  return s;
}

std::string encode_string(const std::string& s) {
  YAML::Emitter e;
  e << YAML::DoubleQuoted << s;
  return e.c_str();
}

template <typename T>
std::string encode_one(const T& v) {
  if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
  if constexpr (std::is_same_v<T, double>) return encode_double(v);
  if constexpr (std::is_same_v<T, std::string>) return encode_string(v);
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) return std::to_string(v);
}

}  // namespace

std::string Origin::where(const std::string& path, const YAML::Node& node) const {
  for (auto it = sets.rbegin(); it != sets.rend(); ++it) {
    if (covers(it->first, path)) return it->second;
  }
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) {
    for (auto it = sets.rbegin(); it != sets.rend(); ++it) {
      if (starts_with(it->first, path + ".")) return it->second;
    }
  }
  if (source.empty()) return "(no config file)";
  if (mark.is_null()) return source;
  return source + ":" + std::to_string(mark.line + 1);
}

void decode(const YAML::Node& node, ConfigValueRef ref, const std::string& path,
            const std::string& where) {
  std::visit(
      [&](auto* p) {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, std::vector<int>> ||
                      std::is_same_v<T, std::vector<double>> ||
                      std::is_same_v<T, std::vector<std::string>>) {
          decode_list(node, p, path, where);
        } else {
          decode_one(node, p, path, where);
        }
      },
      ref);
}

std::string encode(ConfigValueRef ref) {
  return std::visit(
      [](auto* p) -> std::string {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, std::vector<int>> ||
                      std::is_same_v<T, std::vector<double>> ||
                      std::is_same_v<T, std::vector<std::string>>) {
          std::string s = "[";
          for (size_t i = 0; i < p->size(); ++i) s += (i ? ", " : "") + encode_one((*p)[i]);
          return s + "]";
        } else {
          return encode_one(*p);
        }
      },
      ref);
}

std::string type_name(ConfigValueRef ref) {
  static const char* names[] = {"bool",   "int",       "int64",        "double",
                                "string", "list<int>", "list<double>", "list<string>"};
  return names[ref.index()];
}

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::numeric_limits<size_t>::max();
  for (const auto& c : candidates) {
    size_t d = config_edit_distance(word, c);
    if (d < best_d) best_d = d, best = c;
  }
  const size_t limit = std::max<size_t>(2, word.size() / 3);
  // Never "suggest" a candidate that shares nothing with the word.
  if (!best.empty() && best_d <= limit && best_d < std::max(word.size(), best.size())) return best;
  // A truncated key ("batch" for "batch_size"): the one candidate containing it.
  std::string only;
  int n = 0;
  for (const auto& c : candidates) {
    if (word.size() >= 3 && c.find(word) != std::string::npos) only = c, ++n;
  }
  return n == 1 ? only : "";
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < items.size(); ++i) s += (i ? sep : "") + items[i];
  return s;
}

}  // namespace relapse::config_detail

namespace relapse {

size_t config_edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace relapse
