#include "kiln/template/lexer.h"

#include <cctype>

#include "kiln/template/error.h"
#include "kiln/template/text.h"

namespace kiln::templating::internal {
namespace {

bool IsNameStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}
bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// "\r\n" and "\r" become "\n"; one trailing newline is dropped (Jinja's
// keep_trailing_newline=False).
std::string NormalizeNewlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class Lexer {
 public:
  Lexer(std::string_view source, std::string_view origin)
      : source_(NormalizeNewlines(source)), origin_(origin) {}

  std::vector<Token> Run();

 private:
  [[noreturn]] void Fail(int line, const std::string& message) const {
    throw TemplateError(std::string(origin_), line, message);
  }
  bool At(std::string_view text) const { return source_.compare(pos_, text.size(), text) == 0; }
  // Moves to `to`, counting the newlines passed.
  void AdvanceTo(size_t to);
  void SkipSpaces();
  // Emits the text before the next tag, applying whitespace control on both sides.
  void EmitText(size_t end, bool strip_right);
  void LexComment();
  // True (and the raw block emitted) when the `{%` at pos_ opens `{% raw %}`.
  bool LexRaw();
  void LexTag(char kind);
  void LexExpressionToken(char kind, int begin_line);
  void LexNumber();
  void LexString();

  std::string source_;
  std::string_view origin_;
  size_t pos_ = 0;
  int line_ = 1;
  bool strip_next_text_ = false;  // the previous tag ended with "-%}", "-}}" or "-#}"
  std::string brackets_;          // open ( [ { inside the current tag
  std::vector<Token> tokens_;
};

std::vector<Token> Lexer::Run() {
  while (pos_ < source_.size()) {
    size_t tag = pos_;
    while ((tag = source_.find('{', tag)) != std::string::npos) {
      char next = tag + 1 < source_.size() ? source_[tag + 1] : '\0';
      if (next == '{' || next == '%' || next == '#') break;
      ++tag;
    }
    if (tag == std::string::npos) {
      EmitText(source_.size(), false);
      break;
    }
    EmitText(tag, tag + 2 < source_.size() && source_[tag + 2] == '-');
    char kind = source_[tag + 1];
    if (kind == '#') {
      LexComment();
    } else if (kind == '%' && LexRaw()) {
      continue;
    } else {
      LexTag(kind);
    }
  }
  tokens_.push_back({TokenType::kEnd, "", line_});
  return std::move(tokens_);
}

void Lexer::AdvanceTo(size_t to) {
  for (; pos_ < to; ++pos_) {
    if (source_[pos_] == '\n') ++line_;
  }
}

void Lexer::SkipSpaces() {
  size_t end = pos_;
  while (end < source_.size() && IsSpace(source_[end])) ++end;
  AdvanceTo(end);
}

void Lexer::EmitText(size_t end, bool strip_right) {
  if (strip_next_text_) {
    SkipSpaces();
    strip_next_text_ = false;
  }
  if (pos_ >= end) return;
  size_t text_end = end;
  while (strip_right && text_end > pos_ && IsSpace(source_[text_end - 1])) --text_end;
  if (text_end > pos_) {
    tokens_.push_back({TokenType::kText, source_.substr(pos_, text_end - pos_), line_});
  }
  AdvanceTo(end);
}

void Lexer::LexComment() {
  int begin_line = line_;
  size_t content = pos_ + 2;
  if (content < source_.size() && (source_[content] == '-' || source_[content] == '+')) ++content;
  size_t end = source_.find("#}", content);
  if (end == std::string::npos) Fail(begin_line, "unterminated comment (missing '#}')");
  strip_next_text_ = end > content && source_[end - 1] == '-';
  AdvanceTo(end + 2);
}

bool Lexer::LexRaw() {
  // Matches {%[-+]? raw [-+]?%} at pos_; returns the position after it, or npos.
  auto match_tag = [this](size_t at, std::string_view word, bool* strip_left, bool* strip_right) {
    if (source_.compare(at, 2, "{%") != 0) return std::string::npos;
    size_t p = at + 2;
    *strip_left = p < source_.size() && source_[p] == '-';
    if (p < source_.size() && (source_[p] == '-' || source_[p] == '+')) ++p;
    while (p < source_.size() && IsSpace(source_[p])) ++p;
    if (source_.compare(p, word.size(), word) != 0) return std::string::npos;
    p += word.size();
    if (p < source_.size() && IsNameChar(source_[p])) return std::string::npos;
    while (p < source_.size() && IsSpace(source_[p])) ++p;
    *strip_right = p < source_.size() && source_[p] == '-';
    if (p < source_.size() && (source_[p] == '-' || source_[p] == '+')) ++p;
    return source_.compare(p, 2, "%}") == 0 ? p + 2 : std::string::npos;
  };
  bool unused = false;
  bool strip_body_left = false;
  size_t body = match_tag(pos_, "raw", &unused, &strip_body_left);
  if (body == std::string::npos) return false;
  int begin_line = line_;
  for (size_t at = source_.find("{%", body); at != std::string::npos;
       at = source_.find("{%", at + 1)) {
    bool strip_body_right = false;
    bool strip_after = false;
    size_t after = match_tag(at, "endraw", &strip_body_right, &strip_after);
    if (after == std::string::npos) continue;
    AdvanceTo(body);
    strip_next_text_ = strip_body_left;
    EmitText(at, strip_body_right);
    AdvanceTo(after);
    strip_next_text_ = strip_after;
    return true;
  }
  Fail(begin_line, "unclosed '{% raw %}' (missing '{% endraw %}')");
}

void Lexer::LexTag(char kind) {
  int begin_line = line_;
  tokens_.push_back(
      {kind == '{' ? TokenType::kVariableBegin : TokenType::kBlockBegin, "", begin_line});
  AdvanceTo(pos_ + 2);
  if (pos_ < source_.size() && (source_[pos_] == '-' || source_[pos_] == '+')) AdvanceTo(pos_ + 1);
  std::string_view end = kind == '{' ? "}}" : "%}";
  brackets_.clear();
  while (true) {
    SkipSpaces();
    if (pos_ >= source_.size()) {
      Fail(begin_line, std::string("unterminated '") + (kind == '{' ? "{{" : "{%") +
                           "' (missing '" + std::string(end) + "')");
    }
    if (brackets_.empty()) {
      bool minus = At("-") && source_.compare(pos_ + 1, 2, end) == 0;
      bool plus = kind == '%' && At("+%}");
      if (minus || plus || At(end)) {
        tokens_.push_back({kind == '{' ? TokenType::kVariableEnd : TokenType::kBlockEnd,
                           std::string(end), line_});
        AdvanceTo(pos_ + end.size() + (minus || plus ? 1 : 0));
        strip_next_text_ = minus;
        return;
      }
    }
    LexExpressionToken(kind, begin_line);
  }
}

void Lexer::LexExpressionToken(char kind, int begin_line) {
  char c = source_[pos_];
  if (IsNameStart(c)) {
    size_t end = pos_;
    while (end < source_.size() && IsNameChar(source_[end])) ++end;
    tokens_.push_back({TokenType::kName, source_.substr(pos_, end - pos_), line_});
    AdvanceTo(end);
    return;
  }
  if (IsDigit(c)) return LexNumber();
  if (c == '\'' || c == '"') return LexString();
  for (std::string_view op : {"//", "**", "==", "!=", "<=", ">="}) {
    if (At(op)) {
      tokens_.push_back({TokenType::kOperator, std::string(op), line_});
      AdvanceTo(pos_ + 2);
      return;
    }
  }
  if (std::string_view("+-*/%~<>=.:|,()[]{}").find(c) == std::string_view::npos) {
    std::u32string character = DecodeUtf8(std::string_view(source_).substr(pos_, 4)).substr(0, 1);
    Fail(line_, "unexpected character '" + EncodeUtf8(character) + "'");
  }
  if (c == '(' || c == '[' || c == '{') {
    brackets_ += c;
  } else if (c == ')' || c == ']' || c == '}') {
    char open = c == ')' ? '(' : c == ']' ? '[' : '{';
    if (brackets_.empty() || brackets_.back() != open) {
      std::string message = std::string("unexpected '") + c + "'";
      if (!brackets_.empty()) {
        char b = brackets_.back();
        message += std::string(" (expected '") + (b == '(' ? ')' : b == '[' ? ']' : '}') + "')";
      } else if (kind == '{' && c == '}') {
        message += " (expected '}}')";
      }
      Fail(line_, message);
    }
    brackets_.pop_back();
  }
  tokens_.push_back({TokenType::kOperator, std::string(1, c), line_});
  AdvanceTo(pos_ + 1);
}

void Lexer::LexNumber() {
  // After a dot ("row.0") only an integer can follow, as in Jinja.
  bool after_dot =
      !tokens_.empty() && tokens_.back().type == TokenType::kOperator && tokens_.back().text == ".";
  std::string text;
  size_t p = pos_;
  auto digits = [&] {
    while (p < source_.size() &&
           (IsDigit(source_[p]) ||
            (source_[p] == '_' && p + 1 < source_.size() && IsDigit(source_[p + 1])))) {
      if (source_[p] != '_') text += source_[p];
      ++p;
    }
  };
  digits();
  bool is_float = false;
  if (!after_dot && p + 1 < source_.size() && source_[p] == '.' && IsDigit(source_[p + 1])) {
    text += source_[p++];
    digits();
    is_float = true;
  }
  if (!after_dot && p < source_.size() && (source_[p] == 'e' || source_[p] == 'E')) {
    size_t q = p + 1;
    if (q < source_.size() && (source_[q] == '+' || source_[q] == '-')) ++q;
    if (q < source_.size() && IsDigit(source_[q])) {
      text += source_.substr(p, q - p);
      p = q;
      digits();
      is_float = true;
    }
  }
  tokens_.push_back({is_float ? TokenType::kFloat : TokenType::kInteger, text, line_});
  AdvanceTo(p);
}

void Lexer::LexString() {
  int begin_line = line_;
  char quote = source_[pos_];
  std::string value;
  size_t p = pos_ + 1;
  auto hex = [&](size_t count) -> std::string {
    if (p + count > source_.size()) return "";
    char32_t code = 0;
    for (size_t i = 0; i < count; ++i) {
      char h = source_[p + i];
      if (!std::isxdigit(static_cast<unsigned char>(h))) return "";
      code = code * 16 + (IsDigit(h) ? h - '0' : (std::tolower(h) - 'a' + 10));
    }
    if (code > 0x10FFFF) return "";
    p += count;
    return EncodeUtf8(std::u32string(1, code));
  };
  while (true) {
    if (p >= source_.size()) Fail(begin_line, "unterminated string literal");
    char c = source_[p++];
    if (c == quote) break;
    if (c != '\\' || p >= source_.size()) {
      value += c;
      continue;
    }
    char e = source_[p++];
    std::string decoded;
    switch (e) {
      case '\n':
        break;  // a backslash-newline continues the line
      case '\\':
        decoded = "\\";
        break;
      case '\'':
        decoded = "'";
        break;
      case '"':
        decoded = "\"";
        break;
      case 'a':
        decoded = "\a";
        break;
      case 'b':
        decoded = "\b";
        break;
      case 'f':
        decoded = "\f";
        break;
      case 'n':
        decoded = "\n";
        break;
      case 'r':
        decoded = "\r";
        break;
      case 't':
        decoded = "\t";
        break;
      case 'v':
        decoded = "\v";
        break;
      case 'x':
        decoded = hex(2);
        break;
      case 'u':
        decoded = hex(4);
        break;
      case 'U':
        decoded = hex(8);
        break;
      default:
        if (e >= '0' && e <= '7') {
          int code = e - '0';
          for (int i = 0; i < 2 && p < source_.size() && source_[p] >= '0' && source_[p] <= '7';
               ++i) {
            code = code * 8 + (source_[p++] - '0');
          }
          decoded = EncodeUtf8(std::u32string(1, static_cast<char32_t>(code)));
        } else {
          decoded = std::string("\\") + e;  // unknown escapes stay as written, as in Python
        }
    }
    if (decoded.empty() && (e == 'x' || e == 'u' || e == 'U')) {
      Fail(line_, std::string("invalid \\") + e + " escape in string literal");
    }
    value += decoded;
  }
  tokens_.push_back({TokenType::kString, value, begin_line});
  AdvanceTo(p);
}

}  // namespace

std::vector<Token> Lex(std::string_view source, std::string_view origin) {
  return Lexer(source, origin).Run();
}

}  // namespace kiln::templating::internal
