#include "kiln/blocks/sql/block_sql.h"

#include <algorithm>
#include <regex>

#include "kiln/blocks/sql/template_context.h"
#include "kiln/common/names.h"

namespace kiln::blocks::sql {

bool ConfigBool(const project::BlockSpec& block, const char* key) {
  auto it = block.configuration.find(key);
  return it != block.configuration.end() && it->is_boolean() && it->get<bool>();
}

bool AutoCleanNames(const project::BlockSpec& block) {
  auto it = block.configuration.find("auto_clean_name");
  return it == block.configuration.end() || !it->is_boolean() || it->get<bool>();
}

std::string UpstreamTableName(const BlockInvocation& inv, const std::string& block_uuid) {
  std::string name = CleanName(inv.pipeline.uuid()) + "_" + CleanName(block_uuid) + "_v1";
  if (inv.vars.env == "dev" || inv.vars.env == "test") name = inv.vars.env + "_" + name;
  return name;
}

std::optional<size_t> PassThroughUpstream(const BlockInvocation& inv, const std::string& code,
                                          data::Connection& duck) {
  // Each df_N stands for a marker Parquet file, so the test holds whatever relation an upstream
  // output is read through (a Python output's index columns are excluded by a subquery).
  std::vector<std::string> markers;
  for (size_t k = 0; k < inv.upstream.size(); ++k)
    markers.push_back("read_parquet('kiln-df-" + std::to_string(k + 1) + ".parquet')");
  std::vector<data::SqlStatement> statements =
      data::SplitSqlScript(RenderBlockSql(inv, code, markers));
  if (statements.size() != 1) return std::nullopt;
  StatementInfo info = InspectStatement(duck, statements[0].text);
  if (!info.passthrough_parquet) return std::nullopt;
  for (size_t k = 0; k < inv.upstream.size(); ++k) {
    const auto& outputs = inv.upstream[k].outputs;
    if (*info.passthrough_parquet == "kiln-df-" + std::to_string(k + 1) + ".parquet")
      return !outputs.empty() && outputs[0].is_table() ? std::optional<size_t>(k) : std::nullopt;
  }
  return std::nullopt;
}

std::optional<ExportTarget> ResolveExport(const BlockInvocation& inv,
                                          const std::string& default_schema) {
  const project::BlockSpec& block = inv.block;
  auto table = block.ConfigString("data_provider_table");
  if (!table) return std::nullopt;
  if (ConfigBool(block, "use_raw_sql")) {
    inv.log.Warning("data_provider_table '" + *table +
                    "' is ignored because use_raw_sql is true (the SQL runs as written)");
    return std::nullopt;
  }
  ExportTarget target{block.ConfigString("data_provider_schema").value_or(default_schema), *table};
  if (size_t dot = table->find('.'); dot != std::string::npos) {  // "schema.table"
    target.schema = table->substr(0, dot);
    target.table = table->substr(dot + 1);
    if (target.schema.empty() || target.table.empty() ||
        target.table.find('.') != std::string::npos) {
      throw BlockError("block '" + block.uuid + "': data_provider_table '" + *table +
                       "' must be 'table' or 'schema.table'");
    }
  }
  std::string policy = block.ConfigString("export_write_policy").value_or("append");
  auto parsed = connectors::ParseExportWritePolicy(policy);
  if (!parsed) {
    throw BlockError("block '" + block.uuid + "': export_write_policy '" + policy +
                     "' is not one of append, replace, fail");
  }
  target.policy = *parsed;
  return target;
}

bool ProducesTable(const StatementInfo& info, const std::string& statement) {
  if (info.is_select) return true;
  std::string first = data::FirstKeyword(statement);
  if (first == "PIVOT" || first == "UNPIVOT" || first == "SUMMARIZE" || first == "DESCRIBE" ||
      first == "SHOW") {
    return true;
  }
  return !info.parsed &&
         (first == "SELECT" || first == "VALUES" || first == "TABLE" || first == "WITH");
}

std::vector<size_t> ReferencedUpstreams(const std::string& code, size_t upstream_count) {
  static const std::regex kDf(R"(\bdf_(\d+)\b)");
  std::vector<size_t> out;
  for (auto it = std::sregex_iterator(code.begin(), code.end(), kDf); it != std::sregex_iterator();
       ++it) {
    size_t n = std::stoul((*it)[1]);
    if (n >= 1 && n <= upstream_count && std::find(out.begin(), out.end(), n - 1) == out.end())
      out.push_back(n - 1);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string DescribeStatementError(const BlockInvocation& inv, const data::SqlStatement& statement,
                                   int wrapper_lines, const std::string& message) {
  int line = statement.line;
  static const std::regex kLine(R"(LINE (\d+):)");
  std::smatch m;
  if (std::regex_search(message, m, kLine)) {
    line = statement.line + std::max(0, std::stoi(m[1]) - 1 - wrapper_lines);
  }
  std::string first;  // the message up to the blank line before the "LINE n:" excerpt
  for (size_t i = 0; i < message.size(); ++i) {
    if (message.compare(i, 2, "\n\n") == 0 || message.compare(i, 6, "\nLINE ") == 0) break;
    first += message[i] == '\n' ? ' ' : message[i];
  }
  while (!first.empty() && first.back() == ' ') first.pop_back();
  if (first.find("httpfs") != std::string::npos) {
    first =
        "this statement reads an http(s) URL, which needs DuckDB's httpfs extension: Kiln "
        "downloads URLs itself only in SELECT statements, so read the URL in a SELECT (e.g. a "
        "data loader) and use {{ df_1 }} downstream";
  }
  return "block '" + inv.block.uuid + "': " + BlockSourceName(inv) + ":" + std::to_string(line) +
         ": " + first;
}

config::IoProfile ProviderProfile(const BlockInvocation& inv, bool default_may_be_missing) {
  std::string profile = "default";
  if (auto p = inv.block.ConfigString("data_provider_profile")) {
    try {
      profile = templating::Render(*p, BuildSqlContext(inv, UpstreamParquetRelations(inv)),
                                   "data_provider_profile of block '" + inv.block.uuid + "'");
    } catch (const templating::TemplateError& e) {
      throw BlockError(e.what());
    }
  }
  if (profile == "default" && default_may_be_missing) return inv.io_config.ProfileOrEmpty(profile);
  return inv.io_config.Profile(profile);
}

void ThrowStopped(const BlockInvocation& inv) {
  throw BlockError("block '" + inv.block.uuid + "' was stopped: " +
                   (inv.cancel.reason().empty() ? "interrupted" : inv.cancel.reason()));
}

std::vector<std::string> UpstreamParquetRelations(const BlockInvocation& inv) {
  std::vector<std::string> out;
  for (const auto& up : inv.upstream)
    out.push_back(up.outputs.empty() ? "" : up.outputs.front().RelationSql());
  return out;
}

}  // namespace kiln::blocks::sql
