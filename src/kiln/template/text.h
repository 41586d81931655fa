// template/text.h (internal): the Python string behaviour templates rely on.
// Python strings are sequences of code points; Kiln keeps UTF-8 bytes and decodes when a
// position, length or reversal is needed. Bytes that are not valid UTF-8 round-trip unchanged
// (as Python's "surrogateescape" does). Case mapping and whitespace are ASCII only.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kiln::templating::internal {

//! The code points of `text`; an invalid byte b becomes U+DC00+b.
std::u32string DecodeUtf8(std::string_view text);
//! The inverse of DecodeUtf8().
std::string EncodeUtf8(std::u32string_view code_points);
//! Python len() of a str.
size_t CodePointCount(std::string_view text);

//! ASCII-only Python str.upper() / str.lower().
std::string AsciiUpper(std::string_view text);
std::string AsciiLower(std::string_view text);
//! Python str.title(): a letter after a non-letter is upper-cased, other letters lower-cased.
std::string PythonTitle(std::string_view text);
//! Python str.capitalize(): the first character upper-cased, the rest lower-cased.
std::string Capitalize(std::string_view text);
//! Python str.strip(chars)/lstrip/rstrip: removes, from the left and/or right end, any code
//! point of `chars`, or ASCII whitespace when `chars` is nullopt.
std::string Strip(std::string_view text, bool left, bool right,
                  std::optional<std::string_view> chars = std::nullopt);
//! Python str.replace(old, new, count); count < 0 replaces every occurrence.
std::string ReplaceAll(std::string_view text, std::string_view old_text, std::string_view new_text,
                       int64_t count = -1);
//! Whether `c` is one of Python's ASCII whitespace characters.
bool IsSpace(char c);

//! Python repr() of a float: "1.0", "0.1", "1e+20", "1e-05", "inf", "nan".
std::string FloatRepr(double value);
//! Python repr() of a str: 'it''s' -> "it's" in double quotes, escapes as Python writes them.
std::string StringRepr(std::string_view text);

}  // namespace kiln::templating::internal
