// common/names.h: Mage's name cleaning, used for block uuids, storage folders and column names.
#pragma once

#include <string>
#include <string_view>

namespace kiln {

//! Mage's `clean_name` (mage-block-execution.md §1.2): drops BOM, '"', '$', '\n', '\r', '\t';
//! replaces every other non-word character (not [A-Za-z0-9_], except those listed in
//! `allowed`) with '_'; prefixes "letter_" when the result starts with a digit; lowercases.
//! Examples: "Load API data" -> "load_api_data", "2fast" -> "letter_2fast".
std::string CleanName(std::string_view name, std::string_view allowed = "");

//! Quotes `identifier` for SQL with double quotes, doubling embedded quotes: a"b -> "a""b".
std::string QuoteIdentifier(std::string_view identifier);

//! Quotes `text` as a SQL string literal with single quotes, doubling embedded quotes.
std::string QuoteLiteral(std::string_view text);

}  // namespace kiln
