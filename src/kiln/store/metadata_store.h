// store/metadata_store.h: where triggers, pipeline runs, block runs and backfills live
// (mage-orchestration.md §9): SQLite (one file, WAL) by default, PostgreSQL when
// KILN_DATABASE_URL or Mage's MAGE_DATABASE_CONNECTION_URL names one. The schema is migrated at
// open. Every call is one committed transaction: when it returns, the change survives a
// `kill -9`; state changes that the orchestrator acts on are compare-and-set transitions, so two
// processes never both start the same run or block.
//
//   auto store = MetadataStore::Open(StoreLocationFrom(env, data_dir));
//   PipelineRun run = store->CreatePipelineRun(run, {"load", "transform", "export"});
//   if (store->TransitionPipelineRun(run.id, {"initial"}, "running", now)) { ... }
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kiln/store/records.h"
#include "kiln/store/sql_backend.h"

namespace kiln::store {

//! Which database: a PostgreSQL URL, else a SQLite file.
struct StoreLocation {
  std::string postgres_url;  //!< libpq URL or conninfo; "" for SQLite
  std::string sqlite_path;   //!< e.g. <data dir>/kiln.db
};

//! KILN_DATABASE_URL, else MAGE_DATABASE_CONNECTION_URL (a postgresql URL), else
//! `<data_dir>/kiln.db`. `env` maps variable names to values. Throws StoreError for a URL of
//! another database (e.g. mysql://).
StoreLocation StoreLocationFrom(const std::map<std::string, std::string, std::less<>>& env,
                                const std::string& data_dir);

class MetadataStore {
 public:
  //! Opens the store and migrates its schema. Throws StoreError.
  static std::unique_ptr<MetadataStore> Open(const StoreLocation& location);
  explicit MetadataStore(std::unique_ptr<SqlBackend> db);

  //! "sqlite /data/kiln.db" or "postgresql user@host:port/db".
  std::string Describe() const;

  // ---- triggers (pipeline_schedule) -----------------------------------------------------
  //! Stores a new trigger; returns it with id, timestamps and a fresh 128-bit hex token when
  //! `token` is empty. Throws StoreError for an empty name or pipeline, or an unknown
  //! schedule_type / status.
  PipelineSchedule CreateSchedule(PipelineSchedule schedule, DateTime now);
  std::optional<PipelineSchedule> GetSchedule(int64_t id);
  //! Every trigger, or those of one pipeline; by id.
  std::vector<PipelineSchedule> ListSchedules(const std::string& pipeline_uuid = "");
  //! Writes every field of `schedule` (by id). Returns false when no such trigger.
  bool UpdateSchedule(const PipelineSchedule& schedule, DateTime now);
  //! Returns false when no such trigger. Its runs stay, without a trigger.
  bool DeleteSchedule(int64_t id);

  // ---- pipeline runs and block runs ----------------------------------------------------------
  //! Stores a new run (status as given, normally "initial") and one "initial" block run per
  //! uuid, in one transaction. Returns the run with its id.
  PipelineRun CreatePipelineRun(PipelineRun run, const std::vector<std::string>& block_uuids,
                                DateTime now);
  std::optional<PipelineRun> GetPipelineRun(int64_t id);
  //! Runs matching `filter`, newest first (by id).
  std::vector<PipelineRun> ListPipelineRuns(const RunFilter& filter);
  //! How many runs match `filter` (limit and offset ignored).
  int64_t CountPipelineRuns(const RunFilter& filter);
  //! Moves run `id` to `to` when its status is one of `from` (compare-and-set); returns whether
  //! it did. Entering "running" sets started_at (first time) and the heartbeat; entering
  //! completed / failed / cancelled sets completed_at; entering "initial" clears both.
  bool TransitionPipelineRun(int64_t id, const std::vector<std::string>& from,
                             const std::string& to, DateTime now);
  //! Replaces a run's metrics (e.g. the SLA flag's reason, backfill bookkeeping) and passed_sla.
  void UpdatePipelineRunMetrics(int64_t id, const nlohmann::json& metrics, bool passed_sla,
                                DateTime now);
  //! Marks runs as alive at `now` (the process running them does this every few seconds).
  void Heartbeat(const std::vector<int64_t>& run_ids, DateTime now);
  //! Sets passed_sla on run `id` (§2.7: it was not done sla seconds after its execution_date).
  void MarkPassedSla(int64_t id, DateTime now);
  //! Records which process runs run `id` (PipelineRun::owner).
  void SetOwner(int64_t id, const std::string& owner);
  //! Every "running" run, oldest first.
  std::vector<PipelineRun> RunningRuns();

  //! The block runs of a run, in creation order.
  std::vector<BlockRun> ListBlockRuns(int64_t pipeline_run_id);
  std::optional<BlockRun> GetBlockRun(int64_t id);
  //! Compare-and-set as TransitionPipelineRun; `metrics` (when not null) replaces the block
  //! run's metrics in the same statement (e.g. {"error": {...}} on failure).
  bool TransitionBlockRun(int64_t id, const std::vector<std::string>& from, const std::string& to,
                          DateTime now, const nlohmann::json& metrics = nullptr);
  //! Puts the run's block runs whose status is in `statuses` back to "initial" (timestamps
  //! cleared): retrying failed blocks, or re-running blocks a dead process left "running".
  //! Returns how many changed.
  int64_t ResetBlockRuns(int64_t pipeline_run_id, const std::vector<std::string>& statuses,
                         DateTime now);

  // ---- backfills ----------------------------------------------------------------------------
  //! Stores a new backfill. Throws StoreError for an empty name or pipeline, an unknown
  //! interval_type or interval_units < 1.
  Backfill CreateBackfill(Backfill backfill, DateTime now);
  std::optional<Backfill> GetBackfill(int64_t id);
  std::vector<Backfill> ListBackfills(const std::string& pipeline_uuid = "");
  //! Writes every field of `backfill` (by id). Returns false when no such backfill.
  bool UpdateBackfill(const Backfill& backfill, DateTime now);
  bool DeleteBackfill(int64_t id);

 private:
  template <typename Fn>
  auto InTransaction(Fn&& body);

  std::mutex mu_;  // one statement or transaction at a time on the one connection
  std::unique_ptr<SqlBackend> db_;
};

//! Mage's statuses and types, for checking API input: is `value` one of them?
bool IsPipelineRunStatus(const std::string& value);
bool IsBlockRunStatus(const std::string& value);

}  // namespace kiln::store
