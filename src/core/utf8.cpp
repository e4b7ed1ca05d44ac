// src/core/utf8.cpp — UTF-8 validation (relapse/core/utf8.h).
#include "relapse/core/utf8.h"

#include <cstdint>

namespace relapse {

size_t utf8_char_len(std::string_view s, size_t i) {
  const auto c = static_cast<uint8_t>(s[i]);
  size_t n = 0;
  uint32_t cp = 0, min = 0;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 1, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 2, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 3, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n >= s.size()) return 0;
  for (size_t k = 1; k <= n; ++k) {
    const auto cc = static_cast<uint8_t>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n + 1;
}

size_t utf8_invalid_at(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_char_len(s, i);
    if (n == 0) return i;
    i += n;
  }
  return s.size();
}

bool utf8_valid(std::string_view s) {
  return utf8_invalid_at(s) == s.size();
}

}  // namespace relapse
