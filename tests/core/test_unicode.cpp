// tests/core/test_unicode.cpp — UTF-8 decoding and encoding, the \p{L} / \p{N}
// / \s classes on every code point and NFC, against goldens written by the
// Hugging Face tokenizers library (tests/golden/make_unicode_fixture.py).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "relapse/core/unicode.h"

namespace relapse {
namespace {

// tests/golden/fixtures/unicode/<name>: under RELAPSE_SOURCE_DIR when set (CTest
// sets it), else the source tree this file was compiled from, else the cwd.
std::string fixture(const std::string& name) {
  std::string root;
  if (const char* env = std::getenv("RELAPSE_SOURCE_DIR")) {
    root = env;
  } else {
    const std::string self = __FILE__, tail = "tests/core/test_unicode.cpp";
    root =
        self.size() > tail.size() && self.compare(self.size() - tail.size(), tail.size(), tail) == 0
            ? self.substr(0, self.size() - tail.size())
            : "./";
  }
  if (!root.empty() && root.back() != '/') root += '/';
  return root + "tests/golden/fixtures/unicode/" + name;
}

nlohmann::json load(const std::string& name) {
  std::ifstream in(fixture(name), std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << fixture(name);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

std::string u8(char32_t cp) {
  std::string s;
  utf8_append(s, cp);
  return s;
}

bool is_surrogate(char32_t cp) {
  return cp >= 0xD800 && cp <= 0xDFFF;
}

// Readable form of a string for failure messages: its code points in hex.
std::string hex(const std::string& s) {
  std::ostringstream os;
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const size_t n = utf8_decode(s, i, &cp);
    if (n == 0) {
      os << "<" << std::hex << (static_cast<unsigned>(s[i]) & 0xFF) << "> ";
      ++i;
    } else {
      os << "U+" << std::hex << std::uppercase << static_cast<uint32_t>(cp) << " ";
      i += n;
    }
  }
  return os.str();
}

TEST(Unicode, Utf8RoundTripsEveryScalarValue) {
  for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (is_surrogate(cp)) continue;
    const std::string s = u8(cp);
    ASSERT_EQ(s.size(), cp < 0x80 ? 1u : cp < 0x800 ? 2u : cp < 0x10000 ? 3u : 4u);
    char32_t back = 0;
    ASSERT_EQ(utf8_decode(s + "x", 0, &back), s.size()) << std::hex << cp;
    ASSERT_EQ(back, cp);
  }
  EXPECT_EQ(u8(0x20AC), "\xE2\x82\xAC");
  EXPECT_EQ(u8(0x1F600), "\xF0\x9F\x98\x80");
}

TEST(Unicode, Utf8DecodeRefusesInvalidBytes) {
  char32_t cp = 0x41;
  for (const std::string bad :
       {"\x80", "\xBF", "\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xED\xA0\x80", "\xED\xBF\xBF",
        "\xF0\x80\x80\x80", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF", "\xE2\x82", "\xC3",
        "\xE2\x28\xA1"}) {
    EXPECT_EQ(utf8_decode(bad, 0, &cp), 0u) << hex(bad);
  }
  EXPECT_EQ(cp, 0x41u);
  const std::string s = "a\xC3\xA9\xE2\x82\xAC";
  EXPECT_EQ(utf8_decode(s, 1, &cp), 2u);
  EXPECT_EQ(cp, 0xE9u);
  EXPECT_EQ(utf8_decode(s, 2, &cp), 0u);  // a continuation byte
  EXPECT_EQ(utf8_decode(s, 3, &cp), 3u);
  EXPECT_EQ(cp, 0x20ACu);
}

// Every code point, each class, against the ranges tokenizers' Oniguruma matched.
TEST(Unicode, ClassesMatchTokenizersOnEveryCodePoint) {
  const nlohmann::json j = load("classes.json");
  struct Class {
    const char* name;
    bool (*pred)(char32_t);
  };
  for (const Class c : {Class{"letter", unicode_is_letter}, Class{"number", unicode_is_number},
                        Class{"space", unicode_is_space}}) {
    std::vector<bool> expect(0x110000, false);
    size_t count = 0;
    for (const auto& r : j.at(c.name)) {
      for (uint32_t cp = r.at(0); cp <= r.at(1).get<uint32_t>(); ++cp) expect[cp] = true, ++count;
    }
    EXPECT_GT(count, 0u) << c.name;
    int wrong = 0;
    for (char32_t cp = 0; cp < 0x110000; ++cp) {
      if (c.pred(cp) != expect[cp] && ++wrong <= 10)
        ADD_FAILURE() << c.name << " U+" << std::hex << static_cast<uint32_t>(cp) << ": expected "
                      << expect[cp];
    }
    EXPECT_EQ(wrong, 0) << c.name;
  }
}

// Facts the tokenizer reader relies on (Unicode 16.0 tables, as tokenizers 0.23.3).
TEST(Unicode, ClassesPinnedFacts) {
  std::vector<char32_t> spaces;
  for (char32_t cp = 0; cp < 0x110000; ++cp)
    if (unicode_is_space(cp)) spaces.push_back(cp);
  const std::vector<char32_t> white_space = {0x09,   0x0A,   0x0B,   0x0C,   0x0D,   0x20,   0x85,
                                             0xA0,   0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004,
                                             0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028,
                                             0x2029, 0x202F, 0x205F, 0x3000};
  EXPECT_EQ(spaces, white_space);
  for (char32_t cp : {0x1C, 0x1F, 0x180E, 0x200B, 0xFEFF}) EXPECT_FALSE(unicode_is_space(cp));
  for (char32_t cp : {0x30, 0x39, 0xB2, 0xB9, 0xBC, 0x660, 0x2155, 0x2160, 0x3007, 0xFF10, 0x1D7CE,
                      0x11F50 /* Kawi, Unicode 15.0 */})
    EXPECT_TRUE(unicode_is_number(cp)) << std::hex << static_cast<uint32_t>(cp);
  for (char32_t cp : {0x41, 0x7A, 0xAA, 0xB5, 0x2C6, 0x4E00, 0x3405, 0xAC00, 0x31350, 0x2EBF0})
    EXPECT_TRUE(unicode_is_letter(cp)) << std::hex << static_cast<uint32_t>(cp);
  for (char32_t cp : {0x5F, 0x300, 0x345, 0x3007, 0xB2, 0x1F600})
    EXPECT_FALSE(unicode_is_letter(cp)) << std::hex << static_cast<uint32_t>(cp);
  EXPECT_FALSE(unicode_is_number('a'));
  EXPECT_FALSE(unicode_is_letter(0xD800));
}

TEST(Unicode, NfcMatchesTokenizersGoldens) {
  const nlohmann::json j = load("nfc.json");
  ASSERT_GT(j.at("cases").size(), 3000u);
  int wrong = 0;
  for (const auto& c : j.at("cases")) {
    const std::string in = c.at(0), out = c.at(1);
    const std::string got = unicode_nfc(in);
    if (got != out && ++wrong <= 10)
      ADD_FAILURE() << hex(in) << "-> " << hex(got) << "expected " << hex(out);
    EXPECT_EQ(unicode_is_nfc_quick(in), in == out) << hex(in);
    EXPECT_TRUE(unicode_is_nfc_quick(out)) << hex(out);
    EXPECT_EQ(unicode_nfc(out), out) << hex(out);
  }
  EXPECT_EQ(wrong, 0);
}

// The goldens list every code point whose NFC is not itself; all others are stable.
TEST(Unicode, NfcOfEveryOtherCodePointIsItself) {
  const nlohmann::json j = load("nfc.json");
  std::vector<bool> changes(0x110000, false);
  for (const auto& c : j.at("cases")) {
    const std::string in = c.at(0);
    char32_t cp = 0;
    if (utf8_decode(in, 0, &cp) == in.size() && c.at(1) != in) changes[cp] = true;
  }
  int wrong = 0;
  for (char32_t cp = 0; cp < 0x110000; ++cp) {
    if (is_surrogate(cp) || changes[cp]) continue;
    const std::string s = u8(cp);
    if ((unicode_nfc(s) != s || !unicode_is_nfc_quick(s)) && ++wrong <= 10)
      ADD_FAILURE() << hex(s) << "-> " << hex(unicode_nfc(s));
  }
  EXPECT_EQ(wrong, 0);
}

TEST(Unicode, NfcKnownCases) {
  EXPECT_EQ(unicode_nfc("cafe\xCC\x81"), "caf\xC3\xA9");               // e + U+0301
  EXPECT_EQ(unicode_nfc("\xE2\x84\xAB"), "\xC3\x85");                  // U+212B ANGSTROM -> U+00C5
  EXPECT_EQ(unicode_nfc("\xE2\x84\xA6"), "\xCE\xA9");                  // U+2126 OHM -> U+03A9
  EXPECT_EQ(unicode_nfc("\xE0\xA5\x98"), "\xE0\xA4\x95\xE0\xA4\xBC");  // U+0958 excluded
  EXPECT_EQ(unicode_nfc(u8(0x1100) + u8(0x1161) + u8(0x11A8)), u8(0xAC01));          // Hangul L V T
  EXPECT_EQ(unicode_nfc(u8(0xAC00) + u8(0x11A7)), u8(0xAC00) + u8(0x11A7));          // not a T
  EXPECT_EQ(unicode_nfc("x" + u8(0x345) + u8(0x301)), "x" + u8(0x301) + u8(0x345));  // reorder
  // tokenizers' data is Unicode 9.0: U+1DF6 (10.0) is a starter there, so this stays.
  const std::string newer = "a" + u8(0x1DF6) + u8(0x301);
  EXPECT_EQ(unicode_nfc(newer), newer);
  EXPECT_EQ(unicode_nfc(u8(0x11935) + u8(0x11930)), u8(0x11935) + u8(0x11930));
}

TEST(Unicode, NfcPassesInvalidBytesThrough) {
  const std::string e_acute = "e\xCC\x81";
  EXPECT_EQ(unicode_nfc("\xFF" + e_acute + "\x80"), "\xFF\xC3\xA9\x80");
  // An invalid byte is a starter: nothing composes across it.
  EXPECT_EQ(unicode_nfc("e\xFF\xCC\x81"), "e\xFF\xCC\x81");
  EXPECT_EQ(unicode_nfc("\xC3"), "\xC3");
  EXPECT_EQ(unicode_nfc(std::string("a\0b", 3)), std::string("a\0b", 3));
  EXPECT_TRUE(unicode_is_nfc_quick("\xFF\xFE abc \xE2\x82"));
  EXPECT_FALSE(unicode_is_nfc_quick("\xFF" + e_acute));
}

TEST(Unicode, NfcQuickCheckCommonCases) {
  EXPECT_TRUE(unicode_is_nfc_quick(""));
  EXPECT_TRUE(unicode_is_nfc_quick("plain ASCII text\n"));
  EXPECT_TRUE(
      unicode_is_nfc_quick("caf\xC3\xA9 na\xC3\xAFve \xE6\x9D\xB1\xE4\xBA\xAC \xF0\x9F\x98\x80"));
  EXPECT_TRUE(unicode_is_nfc_quick(u8(0xAC01) + u8(0x11C3)));
  EXPECT_FALSE(unicode_is_nfc_quick("cafe\xCC\x81"));               // Maybe, and composes
  EXPECT_TRUE(unicode_is_nfc_quick("\xC3\xA9\xCC\x81"));            // Maybe, but é + U+0301 stays
  EXPECT_FALSE(unicode_is_nfc_quick(u8(0x212B)));                   // No
  EXPECT_FALSE(unicode_is_nfc_quick("x" + u8(0x345) + u8(0x301)));  // out of order
  const std::string big(1 << 20, 'a');
  EXPECT_EQ(unicode_nfc(big), big);
}

}  // namespace
}  // namespace relapse
