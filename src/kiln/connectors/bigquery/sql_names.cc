#include "kiln/connectors/bigquery/sql_names.h"

#include <cctype>
#include <vector>

#include "kiln/common/names.h"
#include "kiln/data/sql_script.h"

namespace kiln::connectors::bigquery {
namespace {

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

bool IsPlainIdentifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!IsWordChar(c)) return false;
  return true;
}

std::string StandInPart(std::string_view s) {
  return IsPlainIdentifier(s) ? std::string(s) : QuoteIdentifier(s);
}

// One segment of a dotted name: its text and whether it was in backticks.
struct Segment {
  std::string text;
  bool quoted = false;
};

// Reads the dotted name starting at `i` (a backtick or a word character). Returns the index
// past it and fills `segments`; a backticked segment holding dots is split there.
size_t ReadPath(std::string_view s, size_t i, std::vector<Segment>& segments, bool& any_quoted) {
  const size_t n = s.size();
  while (i < n) {
    if (s[i] == '`') {
      size_t close = s.find('`', i + 1);
      if (close == std::string_view::npos) return n;  // unterminated: leave the rest as is
      std::string_view inner = s.substr(i + 1, close - i - 1);
      size_t start = 0;
      while (true) {
        size_t dot = inner.find('.', start);
        segments.push_back({std::string(inner.substr(start, dot - start)), true});
        if (dot == std::string_view::npos) break;
        start = dot + 1;
      }
      any_quoted = true;
      i = close + 1;
    } else {
      size_t j = i;
      // A hyphen may be part of a project id (the first segment) only when a dot follows.
      while (j < n && (IsWordChar(s[j]) || (segments.empty() && s[j] == '-' && j + 1 < n &&
                                            (IsWordChar(s[j + 1]) || s[j + 1] == '-')))) {
        ++j;
      }
      if (j == i) break;
      segments.push_back({std::string(s.substr(i, j - i)), false});
      i = j;
    }
    if (i + 1 < n && s[i] == '.' && (s[i + 1] == '`' || IsWordChar(s[i + 1]))) {
      ++i;
      continue;
    }
    break;
  }
  return i;
}

}  // namespace

std::string BigQueryTableName(const TableRef& t) {
  return t.project + "." + t.dataset + "." + t.table;
}

std::string StandInTableName(const TableRef& t) {
  return StandInPart(t.dataset) + "." + StandInPart(t.table);
}

std::string RewriteForStandIn(std::string_view sql, const std::string& project) {
  std::string out;
  out.reserve(sql.size());
  size_t i = 0;
  const size_t n = sql.size();
  while (i < n) {
    size_t skipped = data::SkipQuotedOrComment(sql, i);
    if (skipped != i) {
      out.append(sql.substr(i, skipped - i));
      i = skipped;
      continue;
    }
    const char c = sql[i];
    const bool starts_name =
        c == '`' || (IsWordChar(c) && !std::isdigit(static_cast<unsigned char>(c)));
    const bool after_word = i > 0 && (IsWordChar(sql[i - 1]) || sql[i - 1] == '.' ||
                                      sql[i - 1] == '$' || sql[i - 1] == '-');
    if (!starts_name || after_word) {
      out += c;
      ++i;
      continue;
    }
    std::vector<Segment> segments;
    bool any_quoted = false;
    size_t end = ReadPath(sql, i, segments, any_quoted);
    const bool has_hyphen = !segments.empty() && segments[0].text.find('-') != std::string::npos;
    if (has_hyphen && segments.size() < 3 && !any_quoted) {
      // Not a project-qualified name after all (e.g. "a-b"): copy the first word only.
      size_t j = i;
      while (j < n && IsWordChar(sql[j])) ++j;
      out.append(sql.substr(i, j - i));
      i = j;
      continue;
    }
    const bool drop_project =
        segments.size() == 3 && (any_quoted || segments[0].text == project || has_hyphen);
    if (!any_quoted && !drop_project) {
      out.append(sql.substr(i, end - i));
    } else {
      std::string name;
      for (size_t k = drop_project ? 1 : 0; k < segments.size(); ++k) {
        if (!name.empty()) name += '.';
        name += segments[k].quoted ? QuoteIdentifier(segments[k].text) : segments[k].text;
      }
      out += name;
    }
    i = end;
  }
  return out;
}

}  // namespace kiln::connectors::bigquery
