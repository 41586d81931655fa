// connectors/bigquery/local_warehouse.h: the BigQuery stand-in of --local-cloud DIR
// (docs/design/cloud.md §8): the DuckDB file DIR/bigquery.duckdb, attached to the run's engine
// while the warehouse lives; a dataset is a schema, the project is ignored. Loads and query
// destinations are written as connectors/duckdb/table_export writes (one transaction each).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "kiln/connectors/bigquery/warehouse.h"
#include "kiln/data/engine.h"

namespace kiln::connectors::bigquery {

class LocalWarehouse : public Warehouse {
 public:
  //! Attaches `file` (created when missing) on `engine`, waiting while another process holds it
  //! (data::Engine::LeaseWarehouse; DataError naming the file). `project` is what {{ df_N }}
  //! names would carry in BigQuery ("local" when empty); it is dropped from names in SQL.
  LocalWarehouse(data::Engine& engine, std::filesystem::path file, std::string project,
                 const CancelFn& cancelled = {});

  void EnsureDataset(const std::string& dataset) override;
  bool TableExists(const TableRef& t) override;
  uint64_t LoadParquet(const TableRef& t, const std::filesystem::path& parquet,
                       ExportWritePolicy policy, const CancelFn& cancelled) override;
  uint64_t Run(const std::string& sql, const std::optional<TableRef>& dest,
               ExportWritePolicy policy, const CancelFn& cancelled) override;
  uint64_t Read(const std::string& sql, uint64_t limit, data::Connection& duck,
                const std::string& target, const CancelFn& cancelled) override;
  std::string SqlName(const TableRef& t) const override;
  const std::string& project() const override { return project_; }
  std::string Describe() const override;

  //! The catalog the file is attached as on the engine.
  const std::string& catalog() const { return lease_->alias(); }

 private:
  //! A connection whose default schema is the stand-in's main schema, so "dataset.table" means
  //! the stand-in's table.
  std::unique_ptr<data::Connection> Connect();
  //! `e` as a WarehouseError naming `what` and saying it came from the stand-in.
  [[noreturn]] void Fail(const std::string& what, const std::exception& e) const;

  data::Engine& engine_;
  std::filesystem::path file_;
  std::string project_;
  std::unique_ptr<data::WarehouseLease> lease_;
};

}  // namespace kiln::connectors::bigquery
