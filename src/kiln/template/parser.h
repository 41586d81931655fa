// template/parser.h (internal): builds the syntax tree of a template from its tokens.
#pragma once

#include <string_view>
#include <vector>

#include "kiln/template/ast.h"
#include "kiln/template/lexer.h"

namespace kiln::templating::internal {

//! Parses `tokens` (from Lex()). Throws TemplateError, located in `origin`, for a syntax error,
//! an unknown or unsupported tag, an unknown filter or test, or a block that is never closed.
Body Parse(const std::vector<Token>& tokens, std::string_view origin);

}  // namespace kiln::templating::internal
