// blocks/sql/remote_files.h: making `read_csv('https://...')` work without DuckDB's httpfs.
// DuckDB's httpfs extension cannot be installed on Kiln's machines, so before a statement runs
// Kiln parses it with DuckDB's own parser (json_serialize_sql), finds http(s) URLs passed to
// DuckDB's file readers (read_csv, read_parquet, read_json, ... and `FROM 'https://...'`),
// downloads them through the HTTP fetcher (cached, retried, verified) and rewrites the
// statement to read the local copies.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kiln/data/duckdb.h"

namespace kiln::connectors {
class HttpFetcher;
}
namespace kiln::blocks {
class BlockLog;
}

namespace kiln::blocks::sql {

//! A remote file named in a statement: where its string literal starts and what it says.
struct RemoteFileRef {
  size_t literal_offset = 0;  //!< byte offset of the opening quote in the statement
  std::string url;
};

//! What DuckDB's parser says about one statement.
struct StatementInfo {
  bool parsed = false;                //!< DuckDB's parser could read the statement
  bool is_select = false;             //!< a query (SELECT, WITH, VALUES, FROM-first)
  std::vector<RemoteFileRef> remote;  //!< http(s) files read by the statement
  //! False only when the result cannot hold HUGEINT columns: every source is a DuckDB file
  //! reader (read_csv, read_parquet, ...), and nothing sums, multiplies up or casts to HUGEINT.
  bool may_return_hugeint = true;
  //! Set when the statement is exactly `SELECT * FROM read_parquet('<file>')`: nothing selected
  //! but every column, no filter, grouping, ordering, limit or CTE; holds the file.
  std::optional<std::string> passthrough_parquet;
};

//! Parses `statement` with DuckDB's parser on `conn`. Only SELECT statements can be inspected;
//! others come back with is_select = false and no remote files. Never executes anything.
StatementInfo InspectStatement(data::Connection& conn, const std::string& statement);

//! Returns `statement` with each remote file's literal replaced by the quoted local path the
//! fetcher returns. Throws connectors::ConnectorError (via the fetcher) when a download fails.
std::string LocalizeRemoteFiles(const std::string& statement, const StatementInfo& info,
                                connectors::HttpFetcher& fetcher, BlockLog& log);

}  // namespace kiln::blocks::sql
