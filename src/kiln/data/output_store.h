// data/output_store.h: block outputs on disk in Mage's variables layout (§7.2, §7.3):
//   <variables_dir>/pipelines/<pipeline>/.variables/[<partition>/]<clean(block)>/output_<N>/
// A table output holds data.parquet, sample_data.parquet (first 1,000 rows), type.json
// ({"type": "dataframe"}), data_column_types.json (column -> pandas dtype), statistics.json
// ({"original_row_count", "original_column_count"}), and insights/metadata/suggestions.json
// (null) and resource_usage.json, as Mage's shape-only analysis leaves them.
// Every output folder is written under a temporary name and renamed into place when complete,
// so a reader never sees a half-written output.
#pragma once

#include <cstdint>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/data/duckdb.h"

namespace kiln::data {

//! One stored output of a block.
struct StoredOutput {
  int index = 0;              //!< N of output_N
  std::filesystem::path dir;  //!< the output_N folder
  //! Mage's variable type (type.json): "dataframe" for a table (data.parquet); for a JSON value
  //! (data.json) "" (a dict or scalar) or "iterable" (a list).
  std::string type;
  uint64_t rows = 0;  //!< rows of a dataframe output
  //! The columns of data.parquet that hold a pandas index (index.json), e.g. a filtered
  //! DataFrame's "__index_level_0__"; empty for a default index or a SQL output.
  std::vector<std::string> index_columns;
  //! Set when the output's files are still being written in the background (a Python block's
  //! DataFrame, stored while downstream blocks already run): ready when they are complete, an
  //! exception when writing them failed. Invalid (default) when the files were complete on return.
  std::shared_future<void> written;

  bool is_table() const { return type == "dataframe"; }
  //! Waits until the files are complete. Throws DataError when writing them failed. Every
  //! accessor below that reads the files waits first.
  void AwaitWritten() const;
  //! A DuckDB relation reading the stored output as SQL blocks see it: the table without its
  //! index columns (as Mage uploads data frames with index=False), or for a JSON value
  //! read_json_auto('<dir>/data.json') (a dict is one row, a list of records many).
  std::string RelationSql() const;
  //! read_parquet('<dir>/data.parquet'), index columns included (for Python blocks).
  std::string ParquetRelationSql() const;
  //! data_column_types.json: column -> pandas dtype (empty object when absent).
  nlohmann::json PandasDtypes() const;
  //! index.json: {"columns": [...], "names": [...]}, or null for a default index.
  nlohmann::json Index() const;
  //! The value of a JSON output (data.json). Throws DataError when it cannot be read.
  nlohmann::json JsonValue() const;
};

//! An output written under a temporary name, not yet visible. Publish() moves it into place
//! (replacing the previous output of that index); destroyed unpublished, it is removed.
class PendingOutput {
 public:
  PendingOutput(std::filesystem::path staging, StoredOutput output)
      : staging_(std::move(staging)), output_(std::move(output)) {}
  ~PendingOutput();
  PendingOutput(PendingOutput&& other) noexcept;
  PendingOutput& operator=(PendingOutput&&) = delete;
  PendingOutput(const PendingOutput&) = delete;
  PendingOutput& operator=(const PendingOutput&) = delete;

  //! Makes the output visible. Throws DataError when it cannot be moved into place.
  StoredOutput Publish();
  void set_output(StoredOutput output) { output_ = std::move(output); }
  //! The folder holding the files until Publish() (its data.parquet may be read meanwhile).
  const std::filesystem::path& staging_dir() const { return staging_; }

 private:
  std::filesystem::path staging_;  // empty once published
  StoredOutput output_;
};

class OutputStore {
 public:
  //! `partition` is the execution partition ("" for ad-hoc CLI runs, as in Mage).
  OutputStore(std::filesystem::path variables_dir, std::string pipeline_uuid,
              std::string partition = "");

  //! The store of another pipeline of the same project (ad-hoc partition), e.g. for
  //! get_variable('other_pipeline', ...).
  OutputStore ForPipeline(const std::string& pipeline_uuid) const;

  //! <variables_dir>/pipelines/<pipeline>/.variables[/<partition>]
  std::filesystem::path VariablesRoot() const;
  //! <variables_dir>/pipelines/<pipeline>/.logs[/<partition>]
  std::filesystem::path LogsDir() const;
  //! The folder of a block's outputs (the uuid cleaned as Mage does: '/' becomes '_').
  std::filesystem::path BlockDir(std::string_view block_uuid) const;
  std::filesystem::path OutputDir(std::string_view block_uuid, int index) const;

  //! Removes the block's output_N folders with N >= first_index (Mage drops the outputs a run
  //! did not write again, §7.5).
  void RemoveOutputsFrom(std::string_view block_uuid, int first_index) const;

  //! Creates the variables and logs folders, or throws DataError naming the one that cannot be
  //! written (checked before a run starts, so no block runs whose output could not be kept).
  void EnsureWritable() const;

  //! Computes the DuckDB relation `relation_sql` (a table, a table function call, or a
  //! parenthesised query) once, straight into output_<index>/data.parquet of the block, and
  //! writes the metadata files next to it. Returns what was stored. Throws DataError (nothing is
  //! left at the final path on failure; a previous output_<index> is replaced only on success).
  //! `check_types`: look for HUGEINT columns first (a bind of the query; see
  //! ParquetSafeSelect). Callers pass false when the relation cannot have any, which saves a
  //! second CSV sniff for `read_csv(...)` sources.
  StoredOutput WriteTable(Connection& conn, std::string_view block_uuid, int index,
                          const std::string& relation_sql, bool check_types = true) const;

  //! What a Python block's DataFrame output adds to WriteTable: the exact pandas dtypes
  //! (data_column_types.json) and the index columns (index.json).
  struct PandasInfo {
    nlohmann::json dtypes = nlohmann::json::object();  //!< column -> dtype, as pandas prints it
    nlohmann::json index;                              //!< {"columns", "names"} or null
  };
  //! As WriteTable, recording `pandas` instead of the dtypes Kiln derives from DuckDB types.
  StoredOutput WriteDataFrame(Connection& conn, std::string_view block_uuid, int index,
                              const std::string& relation_sql, const PandasInfo& pandas) const;

  //! Stores a value that is not a table as output_<index>, as Mage's data.json (§7.3):
  //! data.json, sample_data.json (lists cut to 20 items), type.json ({"type": null} for a dict or
  //! scalar, {"type": "iterable"} for a list), statistics.json for lists, resource_usage.json.
  //! `variable_type` is "" or "iterable". Atomic like WriteTable.
  StoredOutput WriteJson(std::string_view block_uuid, int index, const nlohmann::json& value,
                         const std::string& variable_type) const;
  //! As WriteTable, but the output becomes visible only at PendingOutput::Publish() (e.g. after
  //! the export it belongs to has committed).
  PendingOutput StageTable(Connection& conn, std::string_view block_uuid, int index,
                           const std::string& relation_sql, bool check_types = true,
                           const PandasInfo* pandas = nullptr) const;

  //! The block's stored outputs, by index. Empty when the block stored none.
  std::vector<StoredOutput> ListOutputs(std::string_view block_uuid) const;

 private:
  std::filesystem::path pipeline_dir_;
  std::string partition_;
};

//! `SELECT ... FROM relation_sql` whose columns keep their values through Parquet: DuckDB writes
//! HUGEINT (e.g. sum() of BIGINT) as DOUBLE, so those become DECIMAL(38,0), exact.
std::string ParquetSafeSelect(Connection& conn, const std::string& relation_sql);

//! The pandas dtype name Kiln records for a DuckDB column type (e.g. "BIGINT" -> "Int64",
//! "DOUBLE" -> "float64", "VARCHAR" -> "str", "TIMESTAMP" -> "datetime64[ns]").
std::string PandasDtypeFor(std::string_view duckdb_type);

}  // namespace kiln::data
