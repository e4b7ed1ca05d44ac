// relapse/core/unicode.h — the Unicode facts a Hugging Face tokenizer.json
// needs, exactly as the Rust `tokenizers` library (0.23.3) applies them: the
// classes its Oniguruma pre-tokenizer regexes match (\p{L}, \p{N}, \s; Unicode
// 16.0.0) and its NFC normalizer (Unicode 9.0.0 data, as that library ships).
// Tables are generated from the library itself by src/core/gen_unicode_tables.py.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace relapse {

// Decodes the code point at s[i]; returns its byte length, 0 when the bytes
// there are not valid UTF-8 (utf8_char_len's rules; *cp is then untouched).
size_t utf8_decode(std::string_view s, size_t i, char32_t* cp);
// Appends cp as UTF-8 (cp must be a scalar value: <= U+10FFFF, not a surrogate).
void utf8_append(std::string& out, char32_t cp);

bool unicode_is_letter(char32_t cp);  // what Oniguruma's \p{L} matches (L*)
bool unicode_is_number(char32_t cp);  // \p{N} (Nd, Nl, No: also U+00B2, U+2155, U+3007)
// \s: Unicode White_Space, 25 code points (U+0009..U+000D, U+0020, U+0085,
// U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000);
// not U+001C..U+001F, which Python's str.isspace and re's \s take.
bool unicode_is_space(char32_t cp);

// Unicode Normalization Form C of UTF-8 text, as tokenizers' NFC normalizer:
// canonical decomposition, canonical ordering by combining class, canonical
// composition (Hangul by arithmetic; composition exclusions respected). Each
// invalid UTF-8 byte is passed through unchanged and acts as a starter that
// composes with nothing.
std::string unicode_nfc(std::string_view s);
// unicode_nfc(s) == s, answered by the NFC quick-check properties without
// normalizing in the common case (e.g. all code points below U+0300 -> true);
// only text with a code point that may compose with the one before it
// (NFC_Quick_Check = Maybe) is normalized and compared.
bool unicode_is_nfc_quick(std::string_view s);

}  // namespace relapse
