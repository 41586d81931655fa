#include "kiln/data/sql_script.h"

#include <cctype>

namespace kiln::data {
namespace {

// Returns the index just past the construct starting at `i` (a quote, comment or dollar
// string), or `i` when nothing special starts there.
size_t SkipSpecial(std::string_view s, size_t i) {
  const size_t n = s.size();
  char c = s[i];
  if (c == '-' && i + 1 < n && s[i + 1] == '-') {
    size_t end = s.find('\n', i);
    return end == std::string_view::npos ? n : end;
  }
  if (c == '/' && i + 1 < n && s[i + 1] == '*') {
    int depth = 0;
    size_t j = i;
    while (j < n) {
      if (s[j] == '/' && j + 1 < n && s[j + 1] == '*') {
        ++depth;
        j += 2;
      } else if (s[j] == '*' && j + 1 < n && s[j + 1] == '/') {
        j += 2;
        if (--depth == 0) return j;
      } else {
        ++j;
      }
    }
    return n;
  }
  if (c == '\'' || c == '"') {
    bool backslash_escapes =
        c == '\'' && i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') &&
        (i < 2 || !(std::isalnum(static_cast<unsigned char>(s[i - 2])) || s[i - 2] == '_'));
    size_t j = i + 1;
    while (j < n) {
      if (backslash_escapes && s[j] == '\\') {
        j += 2;
      } else if (s[j] == c) {
        if (j + 1 < n && s[j + 1] == c) {
          j += 2;  // doubled quote
        } else {
          return j + 1;
        }
      } else {
        ++j;
      }
    }
    return n;
  }
  if (c == '$') {
    // $tag$ ... $tag$ where tag is empty or an identifier not starting with a digit.
    size_t j = i + 1;
    while (j < n && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
    if (j < n && s[j] == '$' &&
        (j == i + 1 || !std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      bool preceded_by_word =
          i > 0 && (std::isalnum(static_cast<unsigned char>(s[i - 1])) || s[i - 1] == '_');
      if (preceded_by_word) return i;
      std::string_view tag = s.substr(i, j - i + 1);
      size_t close = s.find(tag, j + 1);
      return close == std::string_view::npos ? n : close + tag.size();
    }
  }
  return i;
}

int CountLines(std::string_view s, size_t from, size_t to) {
  int lines = 0;
  for (size_t i = from; i < to; ++i)
    if (s[i] == '\n') ++lines;
  return lines;
}

}  // namespace

size_t SkipQuotedOrComment(std::string_view text, size_t i) {
  return i < text.size() ? SkipSpecial(text, i) : i;
}

bool IsBlankSql(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    bool comment = (text[i] == '-' && i + 1 < text.size() && text[i + 1] == '-') ||
                   (text[i] == '/' && i + 1 < text.size() && text[i + 1] == '*');
    if (!comment) return false;
    i = SkipSpecial(text, i);
  }
  return true;
}

std::string FirstKeyword(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
    } else if (size_t skipped = SkipSpecial(text, i);
               skipped != i && (text[i] == '-' || text[i] == '/')) {
      i = skipped;  // a comment
    } else {
      break;
    }
  }
  std::string word;
  while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i])))
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(text[i++])));
  return word;
}

std::vector<SqlStatement> SplitSqlScript(std::string_view script) {
  std::vector<SqlStatement> out;
  size_t start = 0;
  int start_line = 1;
  auto flush = [&](size_t end) {
    std::string_view piece = script.substr(start, end - start);
    if (!IsBlankSql(piece)) {
      // The statement starts on the line of its first non-space character.
      size_t first = 0;
      while (first < piece.size() && std::isspace(static_cast<unsigned char>(piece[first])))
        ++first;
      out.push_back({std::string(piece.substr(first)), start_line + CountLines(piece, 0, first)});
    }
  };
  size_t i = 0;
  while (i < script.size()) {
    size_t skipped = SkipSpecial(script, i);
    if (skipped != i) {
      i = skipped;
      continue;
    }
    if (script[i] == ';') {
      flush(i);
      start_line += CountLines(script, start, i + 1);
      start = i + 1;
    }
    ++i;
  }
  flush(script.size());
  return out;
}

std::string TrimStatementEnd(std::string statement) {
  while (!statement.empty() &&
         (statement.back() == ';' || std::isspace(static_cast<unsigned char>(statement.back())))) {
    statement.pop_back();
  }
  return statement;
}

}  // namespace kiln::data
