// connectors/bigquery/warehouse.h: BigQuery, or its local stand-in (a DuckDB file), behind one
// interface (docs/design/cloud.md §4). SQL blocks with data_provider bigquery and Python's
// mage_ai.io.bigquery.BigQuery write and read tables only through it, so `--local-cloud` swaps
// the backend without either knowing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "kiln/connectors/error.h"
#include "kiln/connectors/write_policy.h"
#include "kiln/data/duckdb.h"

namespace kiln::connectors {

//! Polled during long operations; true = stop (block timeout, cancelled run). May be empty.
using CancelFn = std::function<bool()>;

//! A warehouse call failed. what() is one line naming the job, table or dataset and the reason
//! (BigQuery's errorResult reason, message and location); never a credential.
class WarehouseError : public ConnectorError {
 public:
  using ConnectorError::ConnectorError;
};

//! A BigQuery table: project (may be "" in the stand-in), dataset, table.
struct TableRef {
  std::string project, dataset, table;
  //! "project.dataset.table", or "dataset.table" without a project (for messages).
  std::string Display() const;
};

//! Mage's table_id: "dataset.table" (in `default_project`) or "project.dataset.table". Throws
//! WarehouseError naming `table_id` for any other shape or an empty part.
TableRef ParseTableId(std::string_view table_id, const std::string& default_project);

class Warehouse {
 public:
  virtual ~Warehouse() = default;
  //! Creates the dataset if missing (an existing one is success), in GOOGLE_LOCATION.
  virtual void EnsureDataset(const std::string& dataset) = 0;
  //! True when the table exists.
  virtual bool TableExists(const TableRef& t) = 0;
  //! One load job of the Parquet file `parquet`: kReplace = WRITE_TRUNCATE, kAppend =
  //! WRITE_APPEND, kFail = refused (WarehouseError) when the table exists, else WRITE_EMPTY; the
  //! dataset and table are created when missing. Atomic: after a failure the table holds what it
  //! held before. Returns the rows loaded (statistics.load.outputRows).
  virtual uint64_t LoadParquet(const TableRef& t, const std::filesystem::path& parquet,
                               ExportWritePolicy policy, const CancelFn& cancelled) = 0;
  //! One query job of `sql` (GoogleSQL; the stand-in runs it as DuckDB SQL after sql_names'
  //! rewriting). With `dest`, its result is written there under `policy` (as LoadParquet).
  //! Returns the rows written to `dest`, or the rows the statement affected/returned.
  virtual uint64_t Run(const std::string& sql, const std::optional<TableRef>& dest,
                       ExportWritePolicy policy, const CancelFn& cancelled) = 0;
  //! At most `limit` rows of the query `sql` into a new DuckDB table `target` (a qualified,
  //! quoted name such as memory.main."x") reachable from `duck`. Returns the rows read.
  virtual uint64_t Read(const std::string& sql, uint64_t limit, data::Connection& duck,
                        const std::string& target, const CancelFn& cancelled) = 0;
  //! `t` as a block's SQL names it: "project.dataset.table" (Mage's form, no backticks);
  //! the stand-in: "dataset.table".
  virtual std::string SqlName(const TableRef& t) const = 0;
  //! The project tables go to when a name has none ("local" in the stand-in).
  virtual const std::string& project() const = 0;
  //! For run summaries: "BigQuery project p" or "local BigQuery stand-in <dir>/bigquery.duckdb".
  virtual std::string Describe() const = 0;
};

}  // namespace kiln::connectors
