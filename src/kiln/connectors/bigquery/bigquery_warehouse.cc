#include "kiln/connectors/bigquery/bigquery_warehouse.h"

#include <cstdio>
#include <random>

#include "kiln/connectors/bigquery/result_rows.h"
#include "kiln/connectors/bigquery/sql_names.h"
#include "kiln/data/sql_script.h"

namespace kiln::connectors::bigquery {
using nlohmann::json;

namespace {

json TableJson(const TableRef& t) {
  return {{"projectId", t.project}, {"datasetId", t.dataset}, {"tableId", t.table}};
}

uint64_t Number(const json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_string()) {  // int64 values are JSON strings in BigQuery's answers
    try {
      return std::stoull(value.get<std::string>());
    } catch (...) {
    }
  }
  return 0;
}

}  // namespace

const char* WriteDisposition(ExportWritePolicy policy) {
  switch (policy) {
    case ExportWritePolicy::kReplace:
      return "WRITE_TRUNCATE";
    case ExportWritePolicy::kAppend:
      return "WRITE_APPEND";
    case ExportWritePolicy::kFail:
      return "WRITE_EMPTY";
  }
  return "WRITE_APPEND";
}

BigQueryWarehouse::BigQueryWarehouse(std::unique_ptr<Client> client, std::string job_prefix)
    : client_(std::move(client)), job_prefix_(std::move(job_prefix)) {}

std::string BigQueryWarehouse::NewJobId() {
  std::random_device device;
  std::uniform_int_distribution<unsigned> hex(0, 15);
  std::string id = job_prefix_ + "_";
  for (int i = 0; i < 12; ++i) id += "0123456789abcdef"[hex(device)];
  return id;
}

json BigQueryWarehouse::JobReference(const std::string& job_id) const {
  json ref = {{"projectId", client_->project()}, {"jobId", job_id}};
  if (!client_->location().empty()) ref["location"] = client_->location();
  return ref;
}

std::string BigQueryWarehouse::SqlName(const TableRef& t) const {
  return BigQueryTableName(t);
}

void BigQueryWarehouse::EnsureDataset(const std::string& dataset) {
  client_->CreateDataset(dataset);
}

bool BigQueryWarehouse::TableExists(const TableRef& t) {
  return client_->TableExists(t);
}

uint64_t BigQueryWarehouse::LoadParquet(const TableRef& t, const std::filesystem::path& parquet,
                                        ExportWritePolicy policy, const CancelFn& cancelled) {
  const std::string what = "load into " + t.Display();
  if (policy == ExportWritePolicy::kFail && client_->TableExists(t)) {
    throw WarehouseError(what + " refused: the table exists and the policy is 'fail'");
  }
  const std::string id = NewJobId();
  json job = {{"jobReference", JobReference(id)},
              {"configuration",
               {{"load",
                 {{"sourceFormat", "PARQUET"},
                  {"destinationTable", TableJson(t)},
                  {"writeDisposition", WriteDisposition(policy)},
                  {"createDisposition", "CREATE_IF_NEEDED"},
                  {"parquetOptions", {{"enableListInference", true}}}}}}}};
  client_->InsertUploadJob(job, parquet, cancelled);
  json done = client_->WaitForJob(id, what, cancelled);
  return Number(done.value("statistics", json::object())
                    .value("load", json::object())
                    .value("outputRows", json()));
}

json BigQueryWarehouse::AwaitQuery(const std::string& job_id, uint64_t max_results,
                                   const std::string& what, const CancelFn& cancelled) {
  while (true) {
    if (cancelled && cancelled()) {
      client_->CancelJob(job_id);
      throw WarehouseError("BigQuery job " + job_id + " (" + what + ") was cancelled");
    }
    json page;
    try {
      page = client_->GetQueryResults(job_id, "", max_results, 10'000);
    } catch (const WarehouseError&) {
      client_->WaitForJob(job_id, what, cancelled);  // throws the job's errorResult
      throw;
    }
    if (page.value("jobComplete", false)) return page;
  }
}

uint64_t BigQueryWarehouse::Run(const std::string& sql, const std::optional<TableRef>& dest,
                                ExportWritePolicy policy, const CancelFn& cancelled) {
  const std::string id = NewJobId();
  const std::string what = dest ? "query into " + dest->Display() : std::string("query");
  json query = {{"query", data::TrimStatementEnd(sql)}, {"useLegacySql", false}};
  if (dest) {
    if (policy == ExportWritePolicy::kFail && client_->TableExists(*dest))
      throw WarehouseError(what + " refused: the table exists and the policy is 'fail'");
    query["destinationTable"] = TableJson(*dest);
    query["writeDisposition"] = WriteDisposition(policy);
    query["createDisposition"] = "CREATE_IF_NEEDED";
  }
  client_->InsertJob({{"jobReference", JobReference(id)}, {"configuration", {{"query", query}}}});
  json page = AwaitQuery(id, 0, what, cancelled);
  json job = client_->WaitForJob(id, what, cancelled);  // complete: errorResult and statistics
  if (page.contains("numDmlAffectedRows")) return Number(page["numDmlAffectedRows"]);
  return Number(page.value("totalRows", json()));
}

uint64_t BigQueryWarehouse::Read(const std::string& sql, uint64_t limit, data::Connection& duck,
                                 const std::string& target, const CancelFn& cancelled) {
  const std::string id = NewJobId();
  const std::string wrapped = "SELECT * FROM (\n" + data::TrimStatementEnd(sql) +
                              "\n) AS subquery LIMIT " + std::to_string(limit);
  client_->InsertJob(
      {{"jobReference", JobReference(id)},
       {"configuration", {{"query", {{"query", wrapped}, {"useLegacySql", false}}}}}});
  json page = AwaitQuery(id, 10'000, "query", cancelled);
  ResultRows rows(duck, page.value("schema", json::object()), target);
  while (true) {
    rows.Append(page.value("rows", json()));
    std::string token = page.value("pageToken", "");
    if (token.empty()) break;
    if (cancelled && cancelled())
      throw WarehouseError("reading the results of BigQuery job " + id + " was cancelled");
    page = client_->GetQueryResults(id, token, 10'000, 10'000);
  }
  return rows.Finish();
}

}  // namespace kiln::connectors::bigquery
