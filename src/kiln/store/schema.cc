// The metadata store's schema and its migrations: Mage's tables (mage-orchestration.md §9) with
// Kiln's additions, versioned in kiln_schema_version, migrated at open in one transaction.
#include "kiln/store/schema.h"

#include <string>
#include <vector>

namespace kiln::store {
namespace {

// Migration N (1-based) takes the schema from version N-1 to N. Never edit a released one:
// add the next. "{id}" is the dialect's auto-increment primary key.
const std::vector<std::string>& Migrations() {
  static const std::vector<std::string> kMigrations = {
      R"SQL(
CREATE TABLE pipeline_schedule (
  id {id}, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  name TEXT NOT NULL, description TEXT, pipeline_uuid TEXT NOT NULL,
  schedule_type TEXT, start_time TEXT, schedule_interval TEXT,
  status TEXT NOT NULL DEFAULT 'INACTIVE', last_enabled_at TEXT, variables TEXT, sla BIGINT,
  token TEXT NOT NULL, repo_path TEXT, settings TEXT);
CREATE INDEX pipeline_schedule_pipeline_uuid ON pipeline_schedule (pipeline_uuid);
CREATE TABLE backfill (
  id {id}, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  name TEXT NOT NULL, pipeline_uuid TEXT NOT NULL,
  pipeline_schedule_id BIGINT REFERENCES pipeline_schedule (id) ON DELETE SET NULL,
  block_uuid TEXT, start_datetime TEXT, end_datetime TEXT, interval_type TEXT,
  interval_units BIGINT, variables TEXT, settings TEXT, status TEXT,
  started_at TEXT, completed_at TEXT, failed_at TEXT, metrics TEXT);
CREATE INDEX backfill_pipeline_uuid ON backfill (pipeline_uuid);
CREATE TABLE pipeline_run (
  id {id}, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  pipeline_schedule_id BIGINT REFERENCES pipeline_schedule (id) ON DELETE SET NULL,
  pipeline_uuid TEXT NOT NULL, execution_date TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'INITIAL', started_at TEXT, completed_at TEXT, variables TEXT,
  passed_sla INTEGER NOT NULL DEFAULT 0, event_variables TEXT, metrics TEXT,
  backfill_id BIGINT REFERENCES backfill (id) ON DELETE SET NULL,
  executor_type TEXT NOT NULL DEFAULT 'LOCAL_PYTHON', heartbeat_at TEXT);
CREATE INDEX pipeline_run_pipeline_uuid ON pipeline_run (pipeline_uuid, execution_date);
CREATE INDEX pipeline_run_status ON pipeline_run (status);
CREATE INDEX pipeline_run_pipeline_schedule_id ON pipeline_run (pipeline_schedule_id);
CREATE INDEX pipeline_run_backfill_id ON pipeline_run (backfill_id);
CREATE TABLE block_run (
  id {id}, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  pipeline_run_id BIGINT NOT NULL REFERENCES pipeline_run (id) ON DELETE CASCADE,
  block_uuid TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'INITIAL',
  started_at TEXT, completed_at TEXT, metrics TEXT);
CREATE INDEX block_run_pipeline_run_id ON block_run (pipeline_run_id);
)SQL",
      // 2: which process runs a running run, so that a restart on the same host resumes the runs
      // of a dead process at once instead of waiting for their heartbeat to go stale.
      "ALTER TABLE pipeline_run ADD COLUMN owner TEXT;",
  };
  return kMigrations;
}

std::string ForDialect(std::string sql, SqlDialect dialect) {
  const std::string id = dialect == SqlDialect::kSqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT"
                                                        : "BIGSERIAL PRIMARY KEY";
  for (size_t at = sql.find("{id}"); at != std::string::npos; at = sql.find("{id}", at)) {
    sql.replace(at, 4, id);
  }
  return sql;
}

}  // namespace

int SchemaVersion() {
  return static_cast<int>(Migrations().size());
}

int Migrate(SqlBackend& db) {
  db.BeginWrite();
  try {
    if (db.dialect() == SqlDialect::kPostgres) {
      // Two `kiln start` racing on a fresh database: the second waits, then sees version N.
      db.Query("SELECT pg_advisory_xact_lock(4848733)", {});
    }
    db.Script("CREATE TABLE IF NOT EXISTS kiln_schema_version (version BIGINT NOT NULL)");
    std::vector<SqlRow> rows = db.Query("SELECT version FROM kiln_schema_version", {});
    int version = 0;
    if (rows.empty()) {
      db.Query("INSERT INTO kiln_schema_version (version) VALUES (0)", {});
    } else {
      version = std::stoi(rows[0][0].value_or("0"));
    }
    if (version > SchemaVersion()) {
      throw StoreError(db.Describe() + ": the metadata store has schema version " +
                       std::to_string(version) + ", written by a newer Kiln (this one knows " +
                       std::to_string(SchemaVersion()) + ")");
    }
    const int from = version;
    for (; version < SchemaVersion(); ++version) {
      db.Script(ForDialect(Migrations()[version], db.dialect()));
    }
    db.Query("UPDATE kiln_schema_version SET version = ?", {std::to_string(version)});
    db.Script("COMMIT");
    return version - from;
  } catch (...) {
    try {
      db.Script("ROLLBACK");
    } catch (const StoreError&) {
    }
    throw;
  }
}

}  // namespace kiln::store
