// blocks/sql/block_sql.h: what every SQL block has, whatever database runs it (§8.1): the
// export target its configuration names, which statement is its output, the upstream outputs its
// text refers to, and how an error names the line of the block file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kiln/blocks/block_runner.h"
#include "kiln/blocks/sql/remote_files.h"
#include "kiln/connectors/write_policy.h"
#include "kiln/data/sql_script.h"

namespace kiln::blocks::sql {

//! The table the block's result is written to: data_provider_table ("table" or
//! "schema.table"), data_provider_schema, export_write_policy (default append, §8.3).
struct ExportTarget {
  std::string schema, table;
  connectors::ExportWritePolicy policy = connectors::ExportWritePolicy::kAppend;
};

//! True when configuration[key] is the boolean true.
bool ConfigBool(const project::BlockSpec& block, const char* key);

//! The export target, or nullopt without data_provider_table (or with use_raw_sql, with a
//! warning in the block log). Checked before any statement runs. Throws BlockError for a bad
//! table name or write policy.
std::optional<ExportTarget> ResolveExport(const BlockInvocation& invocation,
                                          const std::string& default_schema);

//! A statement whose result can be a block's output: a query DuckDB's parser shows as a
//! SELECT, or one starting with PIVOT, UNPIVOT, SUMMARIZE, DESCRIBE, SHOW, or, when the parser
//! cannot read it (PostgreSQL-only syntax), with SELECT, VALUES, TABLE or WITH.
bool ProducesTable(const StatementInfo& info, const std::string& statement);

//! Indexes (0-based) of the upstream blocks the block's code names as df_1 .. df_N (Mage uploads
//! only those, §8.1 step 5).
std::vector<size_t> ReferencedUpstreams(const std::string& code, size_t upstream_count);

//! One line for an error in `statement`: "block 'x': <file>:<line>: <message's first paragraph>".
//! A "LINE n" in the message (DuckDB and PostgreSQL both add one) counts from the text that ran,
//! which had `wrapper_lines` lines before the statement.
std::string DescribeStatementError(const BlockInvocation& invocation,
                                   const data::SqlStatement& statement, int wrapper_lines,
                                   const std::string& message);

//! The io_config.yaml profile named by data_provider_profile (rendered as a template; default
//! "default"). With `default_may_be_missing`, an absent "default" profile is an empty one.
//! Throws config::ConfigError naming the file and the profile.
config::IoProfile ProviderProfile(const BlockInvocation& invocation, bool default_may_be_missing);

//! Throws the BlockError of a block stopped by its CancelToken (timeout, cancelled run).
[[noreturn]] void ThrowStopped(const BlockInvocation& invocation);

//! The DuckDB relations of the upstream outputs, for df_1 .. df_N ("" for an upstream that
//! stored no output).
std::vector<std::string> UpstreamParquetRelations(const BlockInvocation& invocation);

//! Mage's auto_clean_name (default true): column names are cleaned before a table is written.
bool AutoCleanNames(const project::BlockSpec& block);

//! How Mage names the table a block's result or an upstream output goes to when no
//! data_provider_table says (§8.1 step 3): <pipeline>_<clean(block)>_v1, with "dev_" / "test_"
//! in front when env is dev / test.
std::string UpstreamTableName(const BlockInvocation& invocation, const std::string& block_uuid);

//! When the block's whole SQL is one statement that reads an upstream's table output unchanged
//! (`SELECT * FROM {{ df_N }}`: no filter, projection, order or limit): that upstream's index in
//! invocation.upstream, else nullopt. `duck` parses the statement; nothing runs.
std::optional<size_t> PassThroughUpstream(const BlockInvocation& invocation,
                                          const std::string& code, data::Connection& duck);

//! Runs a SQL block on DuckDB (data_provider absent or duckdb). See sql_block.h.
BlockResult RunOnDuckDb(BlockInvocation& invocation);
//! Runs a SQL block on PostgreSQL (data_provider: postgres). See sql_block.h.
BlockResult RunOnPostgres(BlockInvocation& invocation);
//! Runs a SQL block on BigQuery or its local stand-in (data_provider: bigquery). See
//! bigquery_block.cc.
BlockResult RunOnBigQuery(BlockInvocation& invocation);

}  // namespace kiln::blocks::sql
