// src/core/unicode.cpp — character classes and NFC as tokenizers applies them
// (relapse/core/unicode.h). The tables come from unicode_tables.inc, written by
// gen_unicode_tables.py from the tokenizers library itself.
//
// NFC works on segments: a segment starts at a code point that is a starter
// (combining class 0) with NFC_Quick_Check = Yes, which nothing before it can
// reorder past or compose with. A segment whose code points are all quick-check
// Yes and in canonical order is already NFC and copied as it is; any other is
// decomposed, canonically ordered and recomposed on its own.
#include "relapse/core/unicode.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <vector>

#include "relapse/core/utf8.h"

namespace relapse {
namespace {

struct CpRange {
  char32_t lo, hi;
};
struct CccRange {
  char32_t lo, hi;
  uint8_t ccc;
};
struct Decomp {
  char32_t cp;
  uint16_t off;
  uint8_t len;
};
struct Compose {
  char32_t a, b, c;
};

#include "unicode_tables.inc"

// Hangul syllables and conjoining jamo (Unicode chapter 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;
// An invalid byte b travels through normalization as kInvalid + b: a starter
// that has no decomposition and composes with nothing.
constexpr char32_t kInvalid = 0x110000;

template <typename Range, size_t N>
const Range* find_range(const Range (&r)[N], char32_t cp) {
  const Range* it =
      std::upper_bound(r, r + N, cp, [](char32_t c, const Range& x) { return c < x.lo; });
  return it != r && cp <= (it - 1)->hi ? it - 1 : nullptr;
}

uint8_t ccc_of(char32_t cp) {
  if (cp < 0x300) return 0;
  const CccRange* r = find_range(kCcc, cp);
  return r ? r->ccc : 0;
}

enum class Qc : uint8_t { kYes, kMaybe, kNo };

Qc qc_of(char32_t cp) {
  if (cp < 0x300) return Qc::kYes;
  if (find_range(kNfcNo, cp)) return Qc::kNo;
  return find_range(kNfcMaybe, cp) ? Qc::kMaybe : Qc::kYes;
}

// Code points that are starters with quick check Yes, "plain": one bit each
// below U+10000, one per block of 64 above. A bit is set when the code point
// (or a code point of the block) has a non-zero combining class or a quick
// check other than Yes, so most text needs one load, no search.
class NfcPlain {
 public:
  NfcPlain() {
    for (const CccRange& r : kCcc) mark(r.lo, r.hi);
    for (const CpRange& r : kNfcNo) mark(r.lo, r.hi);
    for (const CpRange& r : kNfcMaybe) mark(r.lo, r.hi);
  }
  bool operator()(char32_t cp) const {
    const char32_t k = key(cp);
    return !(bits_[k >> 6] >> (k & 63) & 1);
  }

 private:
  static char32_t key(char32_t cp) { return cp < 0x10000 ? cp : 0x10000 + (cp >> 6); }
  void mark(char32_t lo, char32_t hi) {
    for (char32_t k = key(lo); k <= key(hi); ++k) bits_[k >> 6] |= uint64_t{1} << (k & 63);
  }
  uint64_t bits_[(0x10000 + (0x110000 >> 6)) >> 6] = {};
};
// Built on first use (not at static initialization, which another translation
// unit's static initializers could precede).
const NfcPlain& nfc_plain() {
  static const NfcPlain plain;
  return plain;
}

struct Mark {  // a code point of a segment being normalized, with its combining class
  char32_t cp;
  uint8_t ccc;
};

void decompose(char32_t cp, std::vector<Mark>& buf) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const char32_t s = cp - kSBase;
    buf.push_back({kLBase + s / kNCount, 0});
    buf.push_back({kVBase + (s % kNCount) / kTCount, 0});
    if (s % kTCount != 0) buf.push_back({kTBase + s % kTCount, 0});
    return;
  }
  if (cp >= 0xC0 && cp < kInvalid) {
    const Decomp* end = std::end(kDecomp);
    const Decomp* d = std::lower_bound(std::begin(kDecomp), end, cp,
                                       [](const Decomp& x, char32_t c) { return x.cp < c; });
    if (d != end && d->cp == cp) {
      for (size_t k = 0; k < d->len; ++k) {
        const char32_t c = kDecompData[d->off + k];
        buf.push_back({c, ccc_of(c)});
      }
      return;
    }
  }
  buf.push_back({cp, cp < kInvalid ? ccc_of(cp) : uint8_t{0}});
}

// Stable sort of each run of non-starters by combining class.
void canonical_order(std::vector<Mark>& buf) {
  const auto by_ccc = [](const Mark& x, const Mark& y) { return x.ccc < y.ccc; };
  for (size_t i = 0; i < buf.size();) {
    if (buf[i].ccc == 0) {
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < buf.size() && buf[j].ccc != 0) ++j;
    if (j - i > 1 && !std::is_sorted(buf.begin() + i, buf.begin() + j, by_ccc))
      std::stable_sort(buf.begin() + i, buf.begin() + j, by_ccc);
    i = j;
  }
}

// The primary composite of <a, b>, or 0 when there is none.
char32_t compose_pair(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount)
    return a + (b - kTBase);
  const Compose* end = std::end(kCompose);
  const Compose* it =
      std::lower_bound(std::begin(kCompose), end, std::pair(a, b),
                       [](const Compose& x, const std::pair<char32_t, char32_t>& k) {
                         return x.a < k.first || (x.a == k.first && x.b < k.second);
                       });
  return it != end && it->a == a && it->b == b ? it->c : 0;
}

// Canonical composition in place: each code point joins the last starter
// unless a code point between them is a starter or has a class >= its own.
void compose(std::vector<Mark>& buf) {
  size_t w = 0, starter = 0;
  bool have_starter = false;
  uint8_t last = 0;  // class of the last code point kept after the starter (0: none)
  for (size_t i = 0; i < buf.size(); ++i) {
    const Mark x = buf[i];
    if (have_starter && (last == 0 || last < x.ccc)) {
      if (const char32_t c = compose_pair(buf[starter].cp, x.cp)) {
        buf[starter].cp = c;
        continue;
      }
    }
    if (x.ccc == 0) {
      starter = w, have_starter = true, last = 0;
    } else {
      last = x.ccc;
    }
    buf[w++] = x;
  }
  buf.resize(w);
}

// Decodes s[i] into *cp; an invalid byte becomes kInvalid + byte, length 1.
size_t decode_or_byte(std::string_view s, size_t i, char32_t* cp) {
  const size_t n = utf8_decode(s, i, cp);
  if (n != 0) return n;
  *cp = kInvalid + static_cast<uint8_t>(s[i]);
  return 1;
}

// Appends the NFC of one segment to out.
void normalize_segment(std::string_view seg, std::string& out) {
  thread_local std::vector<Mark> buf;
  buf.clear();
  char32_t cp = 0;
  for (size_t i = 0; i < seg.size();) {
    i += decode_or_byte(seg, i, &cp);
    decompose(cp, buf);
  }
  canonical_order(buf);
  compose(buf);
  for (const Mark& m : buf) {
    if (m.cp >= kInvalid)
      out.push_back(static_cast<char>(m.cp - kInvalid));
    else
      utf8_append(out, m.cp);
  }
}

// Length of the run of ASCII bytes at s[i] (at least 1: s[i] is ASCII).
size_t ascii_run(std::string_view s, size_t i) {
  size_t j = i + 1;
  for (uint64_t w; j + 8 <= s.size(); j += 8) {
    std::memcpy(&w, s.data() + j, 8);
    if (w & 0x8080808080808080ULL) break;
  }
  while (j < s.size() && static_cast<uint8_t>(s[j]) < 0x80) ++j;
  return j - i;
}

// Calls fn(begin, end, qc) for each segment [begin, end) of s that is not
// plainly NFC: qc is kNo when it surely is not (a code point with quick check
// No, or two marks out of canonical order), kMaybe when only normalizing can
// tell. Stops early, returning false, when fn returns false.
template <typename Fn>
bool for_each_unsure_segment(std::string_view s, Fn&& fn) {
  const NfcPlain& plain = nfc_plain();
  size_t seg = 0;
  Qc worst = Qc::kYes;
  uint8_t last_ccc = 0;
  char32_t cp = 0;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<uint8_t>(s[i]);
    size_t n = 1;
    uint8_t ccc = 0;
    Qc qc = Qc::kYes;
    if (b < 0x80) {
      n = ascii_run(s, i);  // all starters and Yes: the last one starts the segment
      if (worst != Qc::kYes && !fn(seg, i, worst)) return false;
      seg = i + n - 1, worst = Qc::kYes, last_ccc = 0;
      i += n;
      continue;
    }
    n = decode_or_byte(s, i, &cp);
    // Below U+0300 (lead bytes under 0xCC) every code point is a starter and Yes.
    if (b >= 0xCC && cp < kInvalid && !plain(cp)) ccc = ccc_of(cp), qc = qc_of(cp);
    if (ccc == 0 && qc == Qc::kYes) {  // a segment boundary
      if (worst != Qc::kYes && !fn(seg, i, worst)) return false;
      seg = i, worst = Qc::kYes;
    } else {
      if (ccc != 0 && last_ccc > ccc) qc = Qc::kNo;
      worst = std::max(worst, qc);
    }
    last_ccc = ccc;
    i += n;
  }
  return worst == Qc::kYes || fn(seg, s.size(), worst);
}

}  // namespace

size_t utf8_decode(std::string_view s, size_t i, char32_t* cp) {
  const size_t n = utf8_char_len(s, i);
  if (n == 0) return 0;
  const auto b = [&](size_t k) { return static_cast<char32_t>(static_cast<uint8_t>(s[i + k])); };
  switch (n) {
    case 1:
      *cp = b(0);
      break;
    case 2:
      *cp = (b(0) & 0x1F) << 6 | (b(1) & 0x3F);
      break;
    case 3:
      *cp = (b(0) & 0x0F) << 12 | (b(1) & 0x3F) << 6 | (b(2) & 0x3F);
      break;
    default:
      *cp = (b(0) & 0x07) << 18 | (b(1) & 0x3F) << 12 | (b(2) & 0x3F) << 6 | (b(3) & 0x3F);
  }
  return n;
}

void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool unicode_is_letter(char32_t cp) {
  if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  return find_range(kLetter, cp) != nullptr;
}

bool unicode_is_number(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return find_range(kNumber, cp) != nullptr;
}

bool unicode_is_space(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
  return find_range(kSpace, cp) != nullptr;
}

std::string unicode_nfc(std::string_view s) {
  std::string out;
  size_t copied = 0;  // s[0, copied) is in out
  for_each_unsure_segment(s, [&](size_t begin, size_t end, Qc) {
    if (out.empty()) out.reserve(s.size() + s.size() / 8);
    out.append(s.substr(copied, begin - copied));
    normalize_segment(s.substr(begin, end - begin), out);
    copied = end;
    return true;
  });
  if (copied == 0) return std::string(s);
  out.append(s.substr(copied));
  return out;
}

bool unicode_is_nfc_quick(std::string_view s) {
  std::string norm;
  return for_each_unsure_segment(s, [&](size_t begin, size_t end, Qc qc) {
    if (qc == Qc::kNo) return false;
    const std::string_view seg = s.substr(begin, end - begin);
    norm.clear();
    normalize_segment(seg, norm);
    return norm == seg;
  });
}

}  // namespace relapse
