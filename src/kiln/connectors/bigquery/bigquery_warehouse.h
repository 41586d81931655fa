// connectors/bigquery/bigquery_warehouse.h: the Warehouse on BigQuery itself (the REST client of
// client.h): each write is one job (a load job of a Parquet file, or a query job with a
// destination table), waited for; reads page through getQueryResults into DuckDB.
#pragma once

#include <memory>
#include <string>

#include "kiln/connectors/bigquery/client.h"
#include "kiln/connectors/bigquery/warehouse.h"

namespace kiln::connectors::bigquery {

class BigQueryWarehouse : public Warehouse {
 public:
  //! `job_prefix` starts every job id ("kiln_<pipeline>_<block>"; ids get 12 random hex
  //! digits after it).
  BigQueryWarehouse(std::unique_ptr<Client> client, std::string job_prefix = "kiln");

  void EnsureDataset(const std::string& dataset) override;
  bool TableExists(const TableRef& t) override;
  uint64_t LoadParquet(const TableRef& t, const std::filesystem::path& parquet,
                       ExportWritePolicy policy, const CancelFn& cancelled) override;
  uint64_t Run(const std::string& sql, const std::optional<TableRef>& dest,
               ExportWritePolicy policy, const CancelFn& cancelled) override;
  uint64_t Read(const std::string& sql, uint64_t limit, data::Connection& duck,
                const std::string& target, const CancelFn& cancelled) override;
  std::string SqlName(const TableRef& t) const override;
  const std::string& project() const override { return client_->project(); }
  std::string Describe() const override { return "BigQuery project " + client_->project(); }

 private:
  //! A new job id: <prefix>_<12 hex>.
  std::string NewJobId();
  //! {"projectId", "jobId"[, "location"]}.
  nlohmann::json JobReference(const std::string& job_id) const;
  //! Waits in getQueryResults until the job is complete (cancelling it when `cancelled`);
  //! returns the first answer that says jobComplete.
  nlohmann::json AwaitQuery(const std::string& job_id, uint64_t max_results,
                            const std::string& what, const CancelFn& cancelled);

  std::unique_ptr<Client> client_;
  std::string job_prefix_;
};

//! BigQuery's writeDisposition for a policy: WRITE_TRUNCATE, WRITE_APPEND, WRITE_EMPTY.
const char* WriteDisposition(ExportWritePolicy policy);

}  // namespace kiln::connectors::bigquery
