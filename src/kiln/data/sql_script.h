// data/sql_script.h: splitting a SQL block's text into statements.
// Neither DuckDB's C API nor libpq hands back the text of each statement of a script, and Kiln
// needs it (to materialise the last SELECT, to send raw SQL to PostgreSQL one statement at a
// time, as Mage's raw-SQL mode does, §8.1 step 8), so this is a boundary scanner, not a parser:
// it only knows where strings, identifiers and comments start and end.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kiln::data {

struct SqlStatement {
  std::string text;  //!< from its first non-space character to before its ';', comments kept
  int line = 1;      //!< 1-based line of the script on which `text` starts
};

//! Splits `script` at top-level ';'. A ';' inside '...' (with '' escapes), E'...' (backslash
//! escapes), "..." identifiers, $tag$...$tag$ strings, -- line comments or /* */ comments
//! (nested) does not split. Statements holding only white space and comments are dropped.
std::vector<SqlStatement> SplitSqlScript(std::string_view script);

//! True when `text` holds nothing but white space and comments.
bool IsBlankSql(std::string_view text);

//! The statement's first word after white space and comments, upper-cased ("SELECT", "PIVOT";
//! "" when it does not start with a letter).
std::string FirstKeyword(std::string_view statement);

//! `statement` without its trailing ';' and white space, so that it can be wrapped in a subquery
//! ("SELECT * FROM (<statement>) AS s").
std::string TrimStatementEnd(std::string statement);

//! The index just past the string literal, quoted identifier, dollar string or comment that
//! starts at `i` of `text` (the rules SplitSqlScript follows), or `i` when none starts there.
size_t SkipQuotedOrComment(std::string_view text, size_t i);

}  // namespace kiln::data
