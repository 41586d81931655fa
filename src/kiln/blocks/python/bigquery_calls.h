// blocks/python/bigquery_calls.h: the bigquery.* calls behind mage_ai.io.bigquery.BigQuery
// (docs/design/cloud.md §9), served through connectors::OpenWarehouse, so a Python block's
// BigQuery reaches the real service or, with --local-cloud, the DuckDB stand-in, never knowing
// which. RunnerCalls delegates every "bigquery." method here.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/blocks/block_runner.h"
#include "kiln/connectors/google/auth.h"
#include "kiln/data/duckdb.h"
#include "kiln/python/unique_fd.h"

namespace kiln::blocks {

//! How the runner turns frames into DuckDB relations and back (RunnerCalls' helpers).
struct FrameIo {
  //! The frame in `fd` as a relation (without its index columns when `drop_index`).
  std::function<std::string(int fd, bool drop_index)> relation;
  //! The rows of a relation as a frame for the Python side.
  std::function<python::UniqueFd(const std::string& relation_sql)> to_frame;
  //! A new scratch table name in the engine's memory catalog.
  std::function<std::string()> scratch;
};

class BigQueryCalls {
 public:
  //! `destinations` collects where exports went (for the run summary); it outlives this.
  BigQueryCalls(BlockInvocation& invocation, data::Connection& duck, FrameIo frames,
                std::vector<std::string>& destinations);

  //! Serves one call:
  //!  - bigquery.open {auth, location, project} -> {"project"}: checks the credentials (Mage's
  //!    Client is made in the constructor) and names the default project;
  //!  - bigquery.load {query, limit, auth, location, project} -> a frame of at most `limit`
  //!    rows of `SELECT * FROM (<query>) AS subquery`;
  //!  - bigquery.execute {query, ...} -> {} (one query job);
  //!  - bigquery.export {table_id, database, if_exists, write_disposition, query_string, ...}
  //!    + a frame -> {"rows", "table"}: one load job (dataset created when missing, spaces in
  //!    column names -> '_', if_exists replace/append/fail -> WRITE_TRUNCATE/APPEND/EMPTY, an
  //!    explicit write_disposition wins) or, with query_string, one query job into the table.
  //! `auth` is {"key": {...}}, {"key_file": path}, {"adc": path or null} or {"missing": true}
  //! (with_config found no key: accepted, with a warning, only by the stand-in). Throws kiln::Error
  //! (one line) for a failing call; RunnerCalls turns it into the Python RunnerError.
  nlohmann::json Dispatch(const std::string& method, const nlohmann::json& args,
                          std::vector<python::UniqueFd>& fds, std::vector<python::UniqueFd>& out);

 private:
  BlockInvocation& inv_;
  data::Connection& duck_;
  FrameIo frames_;
  std::vector<std::string>& destinations_;
};

//! The GoogleAuth of a call's `auth` argument ({"key"}, {"key_file"} or {"adc"}), with
//! `location`. Throws kiln::Error for another shape.
connectors::GoogleAuth GoogleAuthFromCall(const nlohmann::json& auth, const std::string& location);

}  // namespace kiln::blocks
