// template/lexer.h (internal): splits template source into tokens for the parser.
// Text between tags becomes one kText token (comments dropped, `{% raw %}` bodies kept verbatim,
// whitespace control `{%- -%}` already applied); each `{{ }}` or `{% %}` becomes a begin token,
// the tokens of its expression, and an end token. As Jinja does by default, "\r\n" and "\r" are
// read as "\n" and a single newline at the very end of the source is dropped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kiln::templating::internal {

//! What a Token is.
enum class TokenType {
  kText,           // literal output text
  kVariableBegin,  // {{
  kVariableEnd,    // }}
  kBlockBegin,     // {%
  kBlockEnd,       // %}
  kName,           // identifier or keyword: foo, and, if, true
  kString,         // string literal; text is the decoded value
  kInteger,        // integer literal; text is its digits (underscores removed)
  kFloat,          // float literal; text is as strtod reads it
  kOperator,       // + - * / // % ** ~ == != < <= > >= = . : | , ( ) [ ] { }
  kEnd,            // end of the template
};

//! One lexical unit and the 1-based line where it starts.
struct Token {
  TokenType type;
  std::string text;
  int line;
};

//! Tokenizes `source`; the last token is kEnd. Throws TemplateError (located in `origin`) for an
//! unterminated tag, comment, raw block or string literal, or a character no token starts with.
std::vector<Token> Lex(std::string_view source, std::string_view origin);

}  // namespace kiln::templating::internal
