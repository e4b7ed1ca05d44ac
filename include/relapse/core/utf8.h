// relapse/core/utf8.h — UTF-8 validation, written once for every reader of
// text: the tokenizer's byte fallback and decoding, and the text files the CLI
// and the corpus loaders read (a binary file is refused as bad input).
#pragma once
#include <cstddef>
#include <string_view>

namespace relapse {

// Length of the valid UTF-8 character at s[i], 0 when invalid (truncated,
// overlong, surrogate, > U+10FFFF) — the rules of Rust's String::from_utf8.
size_t utf8_char_len(std::string_view s, size_t i);
bool utf8_valid(std::string_view s);
// Byte offset of the first invalid sequence, or s.size() when valid.
size_t utf8_invalid_at(std::string_view s);

}  // namespace relapse
