#include "kiln/blocks/sql/remote_files.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "kiln/blocks/block_runner.h"
#include "kiln/common/names.h"
#include "kiln/connectors/http/http_fetcher.h"

namespace kiln::blocks::sql {
namespace {

using nlohmann::json;

const std::set<std::string, std::less<>> kFileReaders = {"read_csv",
                                                         "read_csv_auto",
                                                         "read_parquet",
                                                         "parquet_scan",
                                                         "read_json",
                                                         "read_json_auto",
                                                         "read_ndjson",
                                                         "read_ndjson_auto",
                                                         "read_json_objects",
                                                         "read_ndjson_objects",
                                                         "read_json_objects_auto",
                                                         "read_text",
                                                         "read_blob",
                                                         "sniff_csv",
                                                         "parquet_metadata",
                                                         "parquet_schema"};

bool IsHttpUrl(std::string_view s) {
  return s.starts_with("http://") || s.starts_with("https://");
}

// The AST's fields change type from node to node ("type" is a string on table refs and an
// object on values), so every read checks the type.
std::string StringAt(const json& node, const char* key) {
  auto it = node.find(key);
  return it != node.end() && it->is_string() ? it->get<std::string>() : std::string();
}
size_t LocationOf(const json& node) {
  auto it = node.find("query_location");
  return it != node.end() && it->is_number_unsigned() ? it->get<size_t>() : std::string::npos;
}

// Collects http(s) VARCHAR constants of a reader argument (a constant or a list_value(...)).
void CollectArgument(const json& expr, std::vector<RemoteFileRef>& out) {
  if (!expr.is_object()) return;
  std::string cls = StringAt(expr, "class");
  if (cls == "CONSTANT") {
    auto value = expr.find("value");
    if (value == expr.end() || !value->is_object()) return;
    auto v = value->find("value");
    if (v != value->end() && v->is_string() && IsHttpUrl(v->get<std::string>()))
      out.push_back({LocationOf(expr), v->get<std::string>()});
  } else if (cls == "FUNCTION" && StringAt(expr, "function_name") == "list_value") {
    auto children = expr.find("children");
    if (children != expr.end() && children->is_array())
      for (const auto& child : *children) CollectArgument(child, out);
  }
}

// What the AST walk learns besides remote files.
struct WalkFacts {
  bool hugeint_possible = false;  // a source or an expression that can yield HUGEINT
};

bool MentionsHugeint(const json& type) {
  std::string id = StringAt(type, "id");
  return id == "HUGEINT" || id == "UHUGEINT";
}

void Walk(const json& node, std::vector<RemoteFileRef>& out, WalkFacts& facts) {
  if (node.is_array()) {
    for (const auto& item : node) Walk(item, out, facts);
    return;
  }
  if (!node.is_object()) return;
  std::string type = StringAt(node, "type");
  std::string cls = StringAt(node, "class");
  if (type == "BASE_TABLE" && !IsHttpUrl(StringAt(node, "table_name"))) {
    facts.hugeint_possible = true;  // a table's columns are unknown until bound
  } else if (type == "TABLE_FUNCTION") {
    auto fn = node.find("function");
    if (fn == node.end() || !fn->is_object() ||
        kFileReaders.count(StringAt(*fn, "function_name")) == 0) {
      facts.hugeint_possible = true;
    }
  } else if (cls == "FUNCTION" || cls == "AGGREGATE" || cls == "WINDOW") {
    std::string name = StringAt(node, "function_name");
    if (name.find("sum") != std::string::npos || name.find("product") != std::string::npos)
      facts.hugeint_possible = true;
  } else if (cls == "CAST") {
    if (auto t = node.find("cast_type"); t != node.end() && MentionsHugeint(*t))
      facts.hugeint_possible = true;
  } else if (cls == "CONSTANT") {
    if (auto v = node.find("value"); v != node.end() && v->is_object()) {
      if (auto t = v->find("type"); t != v->end() && MentionsHugeint(*t))
        facts.hugeint_possible = true;
    }
  }
  auto fn = node.find("function");
  if (type == "TABLE_FUNCTION" && fn != node.end() && fn->is_object()) {
    auto children = fn->find("children");
    if (kFileReaders.count(StringAt(*fn, "function_name")) > 0 && children != fn->end() &&
        children->is_array() && !children->empty()) {
      CollectArgument((*children)[0], out);
    }
  } else if (type == "BASE_TABLE") {
    std::string name = StringAt(node, "table_name");
    if (IsHttpUrl(name) && StringAt(node, "schema_name").empty())
      out.push_back({LocationOf(node), name});
  }
  for (const auto& [key, child] : node.items()) Walk(child, out, facts);
}

// End (exclusive) of the '...' literal starting at `start`, and its decoded value.
std::optional<std::pair<size_t, std::string>> ScanLiteral(const std::string& text, size_t start) {
  if (start >= text.size() || text[start] != '\'') return std::nullopt;
  std::string value;
  for (size_t i = start + 1; i < text.size(); ++i) {
    if (text[i] == '\'') {
      if (i + 1 < text.size() && text[i + 1] == '\'') {
        value += '\'';
        ++i;
        continue;
      }
      return std::make_pair(i + 1, value);
    }
    value += text[i];
  }
  return std::nullopt;
}

bool EmptyOrNull(const json& node, const char* key) {
  auto it = node.find(key);
  return it == node.end() || it->is_null() || (it->is_array() && it->empty()) ||
         (it->is_object() && it->empty());
}

// `SELECT * FROM read_parquet('<file>')` and nothing else: the file, else nullopt.
std::optional<std::string> PassthroughParquet(const json& statement) {
  auto node = statement.find("node");
  if (node == statement.end() || !node->is_object() || StringAt(*node, "type") != "SELECT_NODE")
    return std::nullopt;
  for (const char* key : {"modifiers", "where_clause", "group_expressions", "group_sets", "having",
                          "sample", "qualify"}) {
    if (!EmptyOrNull(*node, key)) return std::nullopt;
  }
  if (auto ctes = node->find("cte_map"); ctes != node->end() && !EmptyOrNull(*ctes, "map"))
    return std::nullopt;
  auto list = node->find("select_list");
  if (list == node->end() || !list->is_array() || list->size() != 1) return std::nullopt;
  const json& star = (*list)[0];
  if (StringAt(star, "class") != "STAR" || !EmptyOrNull(star, "exclude_list") ||
      !EmptyOrNull(star, "replace_list") || !EmptyOrNull(star, "rename_list") ||
      !EmptyOrNull(star, "qualified_exclude_list") || !EmptyOrNull(star, "expr") ||
      !StringAt(star, "relation_name").empty() || star.value("columns", false)) {
    return std::nullopt;
  }
  auto from = node->find("from_table");
  if (from == node->end() || StringAt(*from, "type") != "TABLE_FUNCTION" ||
      !EmptyOrNull(*from, "column_name_alias")) {  // `AS t(x, y)` renames the columns
    return std::nullopt;
  }
  auto fn = from->find("function");
  if (fn == from->end() || StringAt(*fn, "function_name") != "read_parquet") return std::nullopt;
  auto args = fn->find("children");
  if (args == fn->end() || !args->is_array() || args->size() != 1) return std::nullopt;
  const json& arg = (*args)[0];
  if (StringAt(arg, "class") != "CONSTANT") return std::nullopt;
  auto value = arg.find("value");
  if (value == arg.end() || !value->is_object()) return std::nullopt;
  auto v = value->find("value");
  if (v == value->end() || !v->is_string()) return std::nullopt;
  return v->get<std::string>();
}

}  // namespace

StatementInfo InspectStatement(data::Connection& conn, const std::string& statement) {
  StatementInfo info;
  // json_serialize_sql takes a constant, not a parameter.
  data::Result r = conn.Query("SELECT json_serialize_sql(" + QuoteLiteral(statement) + ")");
  auto text = r.GetString(0, 0);
  if (!text) return info;
  json doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  auto error = doc.is_object() ? doc.find("error") : doc.end();
  if (!doc.is_object() || error == doc.end() || !error->is_boolean()) return info;
  if (error->get<bool>()) {
    // "not implemented": parsed, but not a SELECT; "parser": not DuckDB's SQL.
    info.parsed = StringAt(doc, "error_type") != "parser";
    return info;
  }
  info.parsed = true;
  auto statements = doc.find("statements");
  if (statements == doc.end() || !statements->is_array() || statements->size() != 1) return info;
  info.is_select = true;
  WalkFacts facts;
  Walk((*statements)[0], info.remote, facts);
  info.may_return_hugeint = facts.hugeint_possible;
  info.passthrough_parquet = PassthroughParquet((*statements)[0]);
  // One literal may be reported twice (e.g. list_value and its first constant share a location).
  std::sort(info.remote.begin(), info.remote.end(),
            [](const RemoteFileRef& a, const RemoteFileRef& b) {
              return a.literal_offset > b.literal_offset;
            });
  info.remote.erase(std::unique(info.remote.begin(), info.remote.end(),
                                [](const RemoteFileRef& a, const RemoteFileRef& b) {
                                  return a.literal_offset == b.literal_offset;
                                }),
                    info.remote.end());
  return info;
}

std::string LocalizeRemoteFiles(const std::string& statement, const StatementInfo& info,
                                connectors::HttpFetcher& fetcher, BlockLog& log) {
  std::string out = statement;
  for (const RemoteFileRef& ref : info.remote) {  // sorted by descending offset
    auto literal = ScanLiteral(out, ref.literal_offset);
    if (!literal || literal->second != ref.url) {
      log.Warning("could not locate the literal for " + ref.url +
                  " in the statement; leaving it to DuckDB");
      continue;
    }
    connectors::FetchResult fetched = fetcher.Fetch(ref.url);
    log.Info((fetched.from_cache ? "using cached " : "downloaded ") + ref.url + " (" +
             std::to_string(fetched.bytes) + " bytes)");
    out.replace(ref.literal_offset, literal->first - ref.literal_offset,
                QuoteLiteral(fetched.local_path.string()));
  }
  return out;
}

}  // namespace kiln::blocks::sql
