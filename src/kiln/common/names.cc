#include "kiln/common/names.h"

#include <cctype>

namespace kiln {

std::string CleanName(std::string_view name, std::string_view allowed) {
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    // U+FEFF (byte order mark) is EF BB BF in UTF-8.
    if (c == 0xEF && name.substr(i, 3) == "\xEF\xBB\xBF") {
      i += 2;
      continue;
    }
    if (c == '"' || c == '$' || c == '\n' || c == '\r' || c == '\t') continue;
    bool word = std::isalnum(c) || c == '_' || c >= 0x80;  // Python's \w matches Unicode letters
    if (!word && allowed.find(static_cast<char>(c)) == std::string_view::npos) {
      out += '_';
    } else {
      out += static_cast<char>(c);
    }
  }
  if (!out.empty() && std::isdigit(static_cast<unsigned char>(out[0]))) out = "letter_" + out;
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

namespace {
std::string Quote(std::string_view text, char quote) {
  std::string out(1, quote);
  for (char c : text) {
    if (c == quote) out += quote;
    out += c;
  }
  out += quote;
  return out;
}
}  // namespace

std::string QuoteIdentifier(std::string_view identifier) {
  return Quote(identifier, '"');
}
std::string QuoteLiteral(std::string_view text) {
  return Quote(text, '\'');
}

}  // namespace kiln
