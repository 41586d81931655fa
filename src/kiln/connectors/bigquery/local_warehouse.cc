#include "kiln/connectors/bigquery/local_warehouse.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "kiln/common/names.h"
#include "kiln/connectors/bigquery/sql_names.h"
#include "kiln/connectors/duckdb/table_export.h"
#include "kiln/data/sql_script.h"

namespace kiln::connectors::bigquery {
namespace {

// Interrupts `conn` once `cancelled` says so, polling every 50 ms while it lives.
class InterruptWhenCancelled {
 public:
  InterruptWhenCancelled(data::Connection& conn, const CancelFn& cancelled) {
    if (!cancelled) return;
    watcher_ = std::thread([this, &conn, cancelled] {
      std::unique_lock lock(mu_);
      while (!done_) {
        if (cancelled()) {
          conn.Interrupt();
          return;
        }
        cv_.wait_for(lock, std::chrono::milliseconds(50));
      }
    });
  }
  ~InterruptWhenCancelled() {
    if (!watcher_.joinable()) return;
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    watcher_.join();
  }
  InterruptWhenCancelled(const InterruptWhenCancelled&) = delete;
  InterruptWhenCancelled& operator=(const InterruptWhenCancelled&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread watcher_;
};

}  // namespace

LocalWarehouse::LocalWarehouse(data::Engine& engine, std::filesystem::path file,
                               std::string project, const CancelFn& cancelled)
    : engine_(engine),
      file_(std::move(file)),
      project_(project.empty() ? "local" : std::move(project)) {
  data::LockWait wait;
  wait.cancelled = cancelled;
  lease_ = engine_.LeaseWarehouse(file_, wait);
}

std::unique_ptr<data::Connection> LocalWarehouse::Connect() {
  std::unique_ptr<data::Connection> conn = engine_.Connect();
  conn->Execute("USE " + QuoteIdentifier(catalog()) + ".main");
  return conn;
}

void LocalWarehouse::Fail(const std::string& what, const std::exception& e) const {
  throw WarehouseError(what + " failed in the local BigQuery stand-in " + file_.string() + ": " +
                       e.what());
}

std::string LocalWarehouse::Describe() const {
  return "local BigQuery stand-in " + file_.string();
}

std::string LocalWarehouse::SqlName(const TableRef& t) const {
  return StandInTableName(t);
}

void LocalWarehouse::EnsureDataset(const std::string& dataset) {
  try {
    Connect()->Execute("CREATE SCHEMA IF NOT EXISTS " + QuoteIdentifier(catalog()) + "." +
                       QuoteIdentifier(dataset));
  } catch (const data::DataError& e) {
    Fail("creating dataset " + dataset, e);
  }
}

bool LocalWarehouse::TableExists(const TableRef& t) {
  auto conn = Connect();
  return DuckDbTableExists(*conn, DuckDbTableRef{catalog(), t.dataset, t.table});
}

uint64_t LocalWarehouse::LoadParquet(const TableRef& t, const std::filesystem::path& parquet,
                                     ExportWritePolicy policy, const CancelFn& cancelled) {
  auto conn = Connect();
  InterruptWhenCancelled stop(*conn, cancelled);
  try {
    return ExportToDuckDbTable(*conn, DuckDbTableRef{catalog(), t.dataset, t.table},
                               "read_parquet(" + QuoteLiteral(parquet.string()) + ")", policy);
  } catch (const data::InterruptedError&) {
    throw;
  } catch (const Error& e) {
    Fail("load into " + t.Display() + " (" + std::string(ExportWritePolicyName(policy)) + ")", e);
  }
}

uint64_t LocalWarehouse::Run(const std::string& sql, const std::optional<TableRef>& dest,
                             ExportWritePolicy policy, const CancelFn& cancelled) {
  const std::string text = data::TrimStatementEnd(RewriteForStandIn(sql, project_));
  auto conn = Connect();
  InterruptWhenCancelled stop(*conn, cancelled);
  try {
    if (dest) {
      return ExportToDuckDbTable(*conn, DuckDbTableRef{catalog(), dest->dataset, dest->table},
                                 "(\n" + text + "\n)", policy);
    }
    data::Result r = conn->Query(text);
    if (r.rows_changed() > 0) return r.rows_changed();
    if (r.column_count() == 1 && r.column_name(0) == "Count" && r.row_count() == 1)
      return static_cast<uint64_t>(r.GetInt64(0, 0));
    return r.row_count();
  } catch (const data::InterruptedError&) {
    throw;
  } catch (const Error& e) {
    Fail(dest ? "query into " + dest->Display() : std::string("query"), e);
  }
}

uint64_t LocalWarehouse::Read(const std::string& sql, uint64_t limit, data::Connection& /*duck*/,
                              const std::string& target, const CancelFn& cancelled) {
  // `target` lives in the engine, so this connection reaches it as the caller's does.
  const std::string text = data::TrimStatementEnd(RewriteForStandIn(sql, project_));
  auto conn = Connect();
  InterruptWhenCancelled stop(*conn, cancelled);
  try {
    conn->Execute("CREATE TABLE " + target + " AS SELECT * FROM (\n" + text +
                  "\n) AS subquery LIMIT " + std::to_string(limit));
    return static_cast<uint64_t>(conn->Query("SELECT count(*) FROM " + target).GetInt64(0, 0));
  } catch (const data::InterruptedError&) {
    throw;
  } catch (const data::DataError& e) {
    Fail("query", e);
  }
}

}  // namespace kiln::connectors::bigquery
