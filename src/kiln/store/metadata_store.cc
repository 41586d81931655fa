#include "kiln/store/metadata_store.h"

#include <sys/random.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "kiln/store/schema.h"

namespace kiln::store {
namespace {

using nlohmann::json;

const std::vector<std::string> kScheduleTypes = {"time", "api", "event"};
const std::vector<std::string> kScheduleStatuses = {"active", "inactive"};
const std::vector<std::string> kRunStatuses = {"initial", "running", "completed", "failed",
                                               "cancelled"};
const std::vector<std::string> kBlockStatuses = {"initial",         "queued",          "running",
                                                 "completed",       "failed",          "cancelled",
                                                 "upstream_failed", "condition_failed"};
const std::vector<std::string> kIntervalTypes = {"second", "minute", "hour", "day",
                                                 "week",   "month",  "year", "custom"};

bool OneOf(const std::string& value, const std::vector<std::string>& allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

void Require(const std::string& value, const std::vector<std::string>& allowed,
             const std::string& what) {
  if (OneOf(value, allowed)) return;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  throw StoreError(what + " '" + value + "' is not one of " + list);
}

// Mage stores enum members upper-case (§9) and the API shows them lower-case.
std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
SqlValue EnumValue(const std::string& s) {
  return s.empty() ? SqlValue() : SqlValue(Upper(s));
}

// Timestamps are UTC text of one width, so that they sort and compare as text in both databases.
SqlValue TimeValue(const DateTime& t) {
  return DateTime(t.utc_micros(), 0).Strftime("%Y-%m-%d %H:%M:%S.%f");
}
SqlValue TimeValue(const std::optional<DateTime>& t) {
  return t ? TimeValue(*t) : SqlValue();
}
std::optional<DateTime> ParseTime(const SqlValue& v) {
  if (!v) return std::nullopt;
  std::optional<DateTime> t = DateTime::Parse(*v);
  if (!t) throw StoreError("metadata store: bad timestamp '" + *v + "'");
  return DateTime(t->utc_micros(), 0);
}
SqlValue Int(int64_t v) {
  return std::to_string(v);
}
SqlValue Int(const std::optional<int64_t>& v) {
  return v ? Int(*v) : SqlValue();
}
std::optional<int64_t> ParseInt(const SqlValue& v) {
  if (!v) return std::nullopt;
  return std::stoll(*v);
}
SqlValue JsonValue(const json& j) {
  return j.is_null() ? SqlValue() : SqlValue(j.dump());
}
json ParseJson(const SqlValue& v) {
  if (!v || v->empty()) return json::object();
  return json::parse(*v, nullptr, /*allow_exceptions=*/false);
}

// A trigger token: 128 random bits as 32 hex characters (Mage: uuid4().hex).
std::string NewToken() {
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) throw StoreError("cannot read random bytes for a trigger token");
    got += static_cast<size_t>(n);
  }
  std::string hex;
  char pair[3];
  for (unsigned char b : bytes) {
    std::snprintf(pair, sizeof pair, "%02x", b);
    hex += pair;
  }
  return hex;
}

std::string Placeholders(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += i ? ", ?" : "?";
  return s;
}

// ---- row mapping --------------------------------------------------------------------------

constexpr const char* kScheduleColumns =
    "id, created_at, updated_at, name, description, pipeline_uuid, schedule_type, start_time, "
    "schedule_interval, status, last_enabled_at, variables, sla, token, repo_path, settings";

PipelineSchedule ScheduleFrom(const SqlRow& r) {
  PipelineSchedule s;
  s.id = *ParseInt(r[0]);
  s.created_at = *ParseTime(r[1]);
  s.updated_at = *ParseTime(r[2]);
  s.name = r[3].value_or("");
  s.description = r[4].value_or("");
  s.pipeline_uuid = r[5].value_or("");
  s.schedule_type = Lower(r[6].value_or(""));
  s.start_time = ParseTime(r[7]);
  s.schedule_interval = r[8].value_or("");
  s.status = Lower(r[9].value_or(""));
  s.last_enabled_at = ParseTime(r[10]);
  s.variables = ParseJson(r[11]);
  s.sla_seconds = ParseInt(r[12]);
  s.token = r[13].value_or("");
  s.repo_path = r[14].value_or("");
  s.settings = ParseJson(r[15]);
  return s;
}

std::vector<SqlValue> ScheduleFields(const PipelineSchedule& s) {
  return {s.name,
          s.description.empty() ? SqlValue() : SqlValue(s.description),
          s.pipeline_uuid,
          EnumValue(s.schedule_type),
          TimeValue(s.start_time),
          s.schedule_interval.empty() ? SqlValue() : SqlValue(s.schedule_interval),
          EnumValue(s.status),
          TimeValue(s.last_enabled_at),
          JsonValue(s.variables),
          Int(s.sla_seconds),
          s.token,
          s.repo_path.empty() ? SqlValue() : SqlValue(s.repo_path),
          JsonValue(s.settings)};
}

void CheckSchedule(const PipelineSchedule& s) {
  if (s.name.empty()) throw StoreError("a trigger needs a name");
  if (s.pipeline_uuid.empty()) throw StoreError("trigger '" + s.name + "' needs a pipeline");
  if (!s.schedule_type.empty()) Require(s.schedule_type, kScheduleTypes, "schedule_type");
  Require(s.status, kScheduleStatuses, "trigger status");
}

constexpr const char* kRunColumns =
    "id, created_at, updated_at, pipeline_schedule_id, pipeline_uuid, execution_date, status, "
    "started_at, completed_at, variables, passed_sla, event_variables, metrics, backfill_id, "
    "executor_type, heartbeat_at, owner";

PipelineRun RunFrom(const SqlRow& r) {
  PipelineRun p;
  p.id = *ParseInt(r[0]);
  p.created_at = *ParseTime(r[1]);
  p.updated_at = *ParseTime(r[2]);
  p.pipeline_schedule_id = ParseInt(r[3]);
  p.pipeline_uuid = r[4].value_or("");
  p.execution_date = *ParseTime(r[5]);
  p.status = Lower(r[6].value_or(""));
  p.started_at = ParseTime(r[7]);
  p.completed_at = ParseTime(r[8]);
  p.variables = ParseJson(r[9]);
  p.passed_sla = r[10].value_or("0") == "1";
  p.event_variables = ParseJson(r[11]);
  p.metrics = ParseJson(r[12]);
  p.backfill_id = ParseInt(r[13]);
  p.executor_type = Lower(r[14].value_or(""));
  p.heartbeat_at = ParseTime(r[15]);
  p.owner = r[16].value_or("");
  return p;
}

constexpr const char* kBlockRunColumns =
    "id, created_at, updated_at, pipeline_run_id, block_uuid, status, started_at, completed_at, "
    "metrics";

BlockRun BlockRunFrom(const SqlRow& r) {
  BlockRun b;
  b.id = *ParseInt(r[0]);
  b.created_at = *ParseTime(r[1]);
  b.updated_at = *ParseTime(r[2]);
  b.pipeline_run_id = *ParseInt(r[3]);
  b.block_uuid = r[4].value_or("");
  b.status = Lower(r[5].value_or(""));
  b.started_at = ParseTime(r[6]);
  b.completed_at = ParseTime(r[7]);
  b.metrics = ParseJson(r[8]);
  return b;
}

constexpr const char* kBackfillColumns =
    "id, created_at, updated_at, name, pipeline_uuid, pipeline_schedule_id, block_uuid, "
    "start_datetime, end_datetime, interval_type, interval_units, variables, settings, status, "
    "started_at, completed_at, failed_at";

Backfill BackfillFrom(const SqlRow& r) {
  Backfill b;
  b.id = *ParseInt(r[0]);
  b.created_at = *ParseTime(r[1]);
  b.updated_at = *ParseTime(r[2]);
  b.name = r[3].value_or("");
  b.pipeline_uuid = r[4].value_or("");
  b.pipeline_schedule_id = ParseInt(r[5]);
  b.block_uuid = r[6].value_or("");
  b.start_datetime = ParseTime(r[7]);
  b.end_datetime = ParseTime(r[8]);
  b.interval_type = Lower(r[9].value_or(""));
  b.interval_units = ParseInt(r[10]).value_or(1);
  b.variables = ParseJson(r[11]);
  b.settings = ParseJson(r[12]);
  b.status = Lower(r[13].value_or(""));
  b.started_at = ParseTime(r[14]);
  b.completed_at = ParseTime(r[15]);
  b.failed_at = ParseTime(r[16]);
  return b;
}

std::vector<SqlValue> BackfillFields(const Backfill& b) {
  return {b.name,
          b.pipeline_uuid,
          Int(b.pipeline_schedule_id),
          b.block_uuid.empty() ? SqlValue() : SqlValue(b.block_uuid),
          TimeValue(b.start_datetime),
          TimeValue(b.end_datetime),
          EnumValue(b.interval_type),
          Int(b.interval_units),
          JsonValue(b.variables),
          JsonValue(b.settings),
          EnumValue(b.status),
          TimeValue(b.started_at),
          TimeValue(b.completed_at),
          TimeValue(b.failed_at)};
}

void CheckBackfill(const Backfill& b) {
  if (b.name.empty()) throw StoreError("a backfill needs a name");
  if (b.pipeline_uuid.empty()) throw StoreError("backfill '" + b.name + "' needs a pipeline");
  if (!b.interval_type.empty()) Require(b.interval_type, kIntervalTypes, "interval_type");
  if (b.interval_units < 1) {
    throw StoreError("backfill '" + b.name + "': interval_units must be 1 or more");
  }
  if (!b.status.empty()) Require(b.status, kRunStatuses, "backfill status");
}

// `SET started_at/completed_at` for a transition into `to`, Mage's meaning (§3.2).
std::string TimestampsFor(const std::string& to) {
  if (to == "running") {
    return ", started_at = COALESCE(started_at, ?), completed_at = NULL";
  }
  if (to == "completed" || to == "failed" || to == "cancelled" || to == "upstream_failed" ||
      to == "condition_failed") {
    return ", completed_at = ?";
  }
  if (to == "initial") return ", started_at = NULL, completed_at = NULL";
  return "";
}

std::vector<SqlValue> StatusList(const std::vector<std::string>& statuses) {
  std::vector<SqlValue> out;
  for (const auto& s : statuses) out.push_back(Upper(s));
  return out;
}

}  // namespace

StoreLocation StoreLocationFrom(const std::map<std::string, std::string, std::less<>>& env,
                                const std::string& data_dir) {
  StoreLocation location;
  for (const char* name : {"KILN_DATABASE_URL", "MAGE_DATABASE_CONNECTION_URL"}) {
    auto it = env.find(name);
    if (it == env.end() || it->second.empty()) continue;
    const std::string& url = it->second;
    if (url.rfind("postgres", 0) != 0 && url.find("host=") == std::string::npos) {
      throw StoreError(std::string(name) +
                       ": only PostgreSQL URLs (postgresql://...) are "
                       "supported for the metadata store, not '" +
                       url.substr(0, url.find(':')) + "'");
    }
    location.postgres_url = url;
    return location;
  }
  location.sqlite_path = data_dir + "/kiln.db";
  return location;
}

std::unique_ptr<MetadataStore> MetadataStore::Open(const StoreLocation& location) {
  std::unique_ptr<SqlBackend> db = location.postgres_url.empty()
                                       ? OpenSqlite(location.sqlite_path)
                                       : OpenPostgres(location.postgres_url);
  Migrate(*db);
  return std::make_unique<MetadataStore>(std::move(db));
}

MetadataStore::MetadataStore(std::unique_ptr<SqlBackend> db) : db_(std::move(db)) {}

std::string MetadataStore::Describe() const {
  return db_->Describe();
}

template <typename Fn>
auto MetadataStore::InTransaction(Fn&& body) {
  db_->BeginWrite();
  try {
    auto result = body();
    db_->Script("COMMIT");
    return result;
  } catch (...) {
    try {
      db_->Script("ROLLBACK");
    } catch (const StoreError&) {
    }
    throw;
  }
}

// ---- triggers -----------------------------------------------------------------------------

PipelineSchedule MetadataStore::CreateSchedule(PipelineSchedule s, DateTime now) {
  CheckSchedule(s);
  if (s.token.empty()) s.token = NewToken();
  if (s.status == "active" && !s.last_enabled_at) s.last_enabled_at = now;
  std::vector<SqlValue> params = {TimeValue(now), TimeValue(now)};
  for (SqlValue& v : ScheduleFields(s)) params.push_back(std::move(v));
  std::lock_guard lock(mu_);
  auto rows = db_->Query(
      "INSERT INTO pipeline_schedule (created_at, updated_at, name, description, pipeline_uuid, "
      "schedule_type, start_time, schedule_interval, status, last_enabled_at, variables, sla, "
      "token, repo_path, settings) VALUES (" +
          Placeholders(params.size()) + ") RETURNING " + kScheduleColumns,
      params);
  return ScheduleFrom(rows.at(0));
}

std::optional<PipelineSchedule> MetadataStore::GetSchedule(int64_t id) {
  std::lock_guard lock(mu_);
  auto rows =
      db_->Query(std::string("SELECT ") + kScheduleColumns + " FROM pipeline_schedule WHERE id = ?",
                 {Int(id)});
  if (rows.empty()) return std::nullopt;
  return ScheduleFrom(rows[0]);
}

std::vector<PipelineSchedule> MetadataStore::ListSchedules(const std::string& pipeline_uuid) {
  std::lock_guard lock(mu_);
  auto rows = pipeline_uuid.empty()
                  ? db_->Query(std::string("SELECT ") + kScheduleColumns +
                                   " FROM pipeline_schedule ORDER BY id",
                               {})
                  : db_->Query(std::string("SELECT ") + kScheduleColumns +
                                   " FROM pipeline_schedule WHERE pipeline_uuid = ? ORDER BY id",
                               {pipeline_uuid});
  std::vector<PipelineSchedule> out;
  for (const auto& r : rows) out.push_back(ScheduleFrom(r));
  return out;
}

bool MetadataStore::UpdateSchedule(const PipelineSchedule& s, DateTime now) {
  CheckSchedule(s);
  std::vector<SqlValue> params = {TimeValue(now)};
  for (SqlValue& v : ScheduleFields(s)) params.push_back(std::move(v));
  params.push_back(Int(s.id));
  std::lock_guard lock(mu_);
  auto rows = db_->Query(
      "UPDATE pipeline_schedule SET updated_at = ?, name = ?, description = ?, pipeline_uuid = ?, "
      "schedule_type = ?, start_time = ?, schedule_interval = ?, status = ?, last_enabled_at = ?, "
      "variables = ?, sla = ?, token = ?, repo_path = ?, settings = ? WHERE id = ? RETURNING id",
      params);
  return !rows.empty();
}

bool MetadataStore::DeleteSchedule(int64_t id) {
  std::lock_guard lock(mu_);
  return !db_->Query("DELETE FROM pipeline_schedule WHERE id = ? RETURNING id", {Int(id)}).empty();
}

// ---- pipeline runs ------------------------------------------------------------------------

PipelineRun MetadataStore::CreatePipelineRun(PipelineRun run,
                                             const std::vector<std::string>& block_uuids,
                                             DateTime now) {
  Require(run.status, kRunStatuses, "pipeline run status");
  if (run.pipeline_uuid.empty()) throw StoreError("a pipeline run needs a pipeline");
  std::lock_guard lock(mu_);
  return InTransaction([&] {
    auto rows = db_->Query(
        std::string("INSERT INTO pipeline_run (created_at, updated_at, pipeline_schedule_id, "
                    "pipeline_uuid, execution_date, status, started_at, completed_at, variables, "
                    "passed_sla, event_variables, metrics, backfill_id, executor_type, "
                    "heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "RETURNING ") +
            kRunColumns,
        {TimeValue(now), TimeValue(now), Int(run.pipeline_schedule_id), run.pipeline_uuid,
         TimeValue(run.execution_date), EnumValue(run.status), TimeValue(run.started_at),
         TimeValue(run.completed_at), JsonValue(run.variables), run.passed_sla ? "1" : "0",
         JsonValue(run.event_variables), JsonValue(run.metrics), Int(run.backfill_id),
         EnumValue(run.executor_type), TimeValue(run.heartbeat_at)});
    PipelineRun stored = RunFrom(rows.at(0));
    for (const std::string& uuid : block_uuids) {
      db_->Query(
          "INSERT INTO block_run (created_at, updated_at, pipeline_run_id, block_uuid, status) "
          "VALUES (?, ?, ?, ?, 'INITIAL')",
          {TimeValue(now), TimeValue(now), Int(stored.id), uuid});
    }
    return stored;
  });
}

std::optional<PipelineRun> MetadataStore::GetPipelineRun(int64_t id) {
  std::lock_guard lock(mu_);
  auto rows = db_->Query(std::string("SELECT ") + kRunColumns + " FROM pipeline_run WHERE id = ?",
                         {Int(id)});
  if (rows.empty()) return std::nullopt;
  return RunFrom(rows[0]);
}

namespace {
// " WHERE ..." for a RunFilter, appending its parameters.
std::string RunWhere(const RunFilter& f, std::vector<SqlValue>& params) {
  std::vector<std::string> terms;
  if (!f.pipeline_uuid.empty()) {
    terms.push_back("pipeline_uuid = ?");
    params.push_back(f.pipeline_uuid);
  }
  if (f.pipeline_schedule_id) {
    terms.push_back("pipeline_schedule_id = ?");
    params.push_back(Int(*f.pipeline_schedule_id));
  }
  if (f.backfill_id) {
    terms.push_back("backfill_id = ?");
    params.push_back(Int(*f.backfill_id));
  }
  if (f.execution_date) {
    terms.push_back("execution_date = ?");
    params.push_back(TimeValue(*f.execution_date));
  }
  if (!f.statuses.empty()) {
    terms.push_back("status IN (" + Placeholders(f.statuses.size()) + ")");
    for (SqlValue& v : StatusList(f.statuses)) params.push_back(std::move(v));
  }
  std::string where;
  for (const auto& t : terms) where += (where.empty() ? " WHERE " : " AND ") + t;
  return where;
}
}  // namespace

std::vector<PipelineRun> MetadataStore::ListPipelineRuns(const RunFilter& filter) {
  std::vector<SqlValue> params;
  const std::string where = RunWhere(filter, params);
  params.push_back(Int(filter.limit));
  params.push_back(Int(filter.offset));
  std::lock_guard lock(mu_);
  auto rows = db_->Query(std::string("SELECT ") + kRunColumns + " FROM pipeline_run" + where +
                             " ORDER BY id DESC LIMIT ? OFFSET ?",
                         params);
  std::vector<PipelineRun> out;
  for (const auto& r : rows) out.push_back(RunFrom(r));
  return out;
}

int64_t MetadataStore::CountPipelineRuns(const RunFilter& filter) {
  std::vector<SqlValue> params;
  const std::string where = RunWhere(filter, params);
  std::lock_guard lock(mu_);
  return *ParseInt(db_->Query("SELECT count(*) FROM pipeline_run" + where, params).at(0).at(0));
}

bool MetadataStore::TransitionPipelineRun(int64_t id, const std::vector<std::string>& from,
                                          const std::string& to, DateTime now) {
  Require(to, kRunStatuses, "pipeline run status");
  for (const auto& f : from) Require(f, kRunStatuses, "pipeline run status");
  std::vector<SqlValue> params = {EnumValue(to), TimeValue(now)};
  std::string timestamps = TimestampsFor(to);
  if (timestamps.find('?') != std::string::npos) params.push_back(TimeValue(now));
  if (to == "running") {
    timestamps += ", heartbeat_at = ?";
    params.push_back(TimeValue(now));
  }
  params.push_back(Int(id));
  for (SqlValue& v : StatusList(from)) params.push_back(std::move(v));
  std::lock_guard lock(mu_);
  return !db_->Query("UPDATE pipeline_run SET status = ?, updated_at = ?" + timestamps +
                         " WHERE id = ? AND status IN (" + Placeholders(from.size()) +
                         ") RETURNING id",
                     params)
              .empty();
}

void MetadataStore::UpdatePipelineRunMetrics(int64_t id, const nlohmann::json& metrics,
                                             bool passed_sla, DateTime now) {
  std::lock_guard lock(mu_);
  db_->Query("UPDATE pipeline_run SET metrics = ?, passed_sla = ?, updated_at = ? WHERE id = ?",
             {JsonValue(metrics), passed_sla ? "1" : "0", TimeValue(now), Int(id)});
}

void MetadataStore::Heartbeat(const std::vector<int64_t>& run_ids, DateTime now) {
  if (run_ids.empty()) return;
  std::vector<SqlValue> params = {TimeValue(now)};
  for (int64_t id : run_ids) params.push_back(Int(id));
  std::lock_guard lock(mu_);
  db_->Query(
      "UPDATE pipeline_run SET heartbeat_at = ? WHERE id IN (" + Placeholders(run_ids.size()) + ")",
      params);
}

void MetadataStore::MarkPassedSla(int64_t id, DateTime now) {
  std::lock_guard lock(mu_);
  db_->Query("UPDATE pipeline_run SET passed_sla = 1, updated_at = ? WHERE id = ?",
             {TimeValue(now), Int(id)});
}

void MetadataStore::SetOwner(int64_t id, const std::string& owner) {
  std::lock_guard lock(mu_);
  db_->Query("UPDATE pipeline_run SET owner = ? WHERE id = ?", {owner, Int(id)});
}

std::vector<PipelineRun> MetadataStore::RunningRuns() {
  std::lock_guard lock(mu_);
  auto rows = db_->Query(std::string("SELECT ") + kRunColumns +
                             " FROM pipeline_run WHERE status = 'RUNNING' ORDER BY id",
                         {});
  std::vector<PipelineRun> out;
  for (const auto& r : rows) out.push_back(RunFrom(r));
  return out;
}

// ---- block runs ---------------------------------------------------------------------------

std::vector<BlockRun> MetadataStore::ListBlockRuns(int64_t pipeline_run_id) {
  std::lock_guard lock(mu_);
  auto rows = db_->Query(std::string("SELECT ") + kBlockRunColumns +
                             " FROM block_run WHERE pipeline_run_id = ? ORDER BY id",
                         {Int(pipeline_run_id)});
  std::vector<BlockRun> out;
  for (const auto& r : rows) out.push_back(BlockRunFrom(r));
  return out;
}

std::optional<BlockRun> MetadataStore::GetBlockRun(int64_t id) {
  std::lock_guard lock(mu_);
  auto rows = db_->Query(std::string("SELECT ") + kBlockRunColumns + " FROM block_run WHERE id = ?",
                         {Int(id)});
  if (rows.empty()) return std::nullopt;
  return BlockRunFrom(rows[0]);
}

bool MetadataStore::TransitionBlockRun(int64_t id, const std::vector<std::string>& from,
                                       const std::string& to, DateTime now,
                                       const nlohmann::json& metrics) {
  Require(to, kBlockStatuses, "block run status");
  for (const auto& f : from) Require(f, kBlockStatuses, "block run status");
  std::vector<SqlValue> params = {EnumValue(to), TimeValue(now)};
  std::string sets = TimestampsFor(to);
  if (sets.find('?') != std::string::npos) params.push_back(TimeValue(now));
  if (!metrics.is_null()) {
    sets += ", metrics = ?";
    params.push_back(JsonValue(metrics));
  }
  params.push_back(Int(id));
  for (SqlValue& v : StatusList(from)) params.push_back(std::move(v));
  std::lock_guard lock(mu_);
  return !db_->Query("UPDATE block_run SET status = ?, updated_at = ?" + sets +
                         " WHERE id = ? AND status IN (" + Placeholders(from.size()) +
                         ") RETURNING id",
                     params)
              .empty();
}

int64_t MetadataStore::ResetBlockRuns(int64_t pipeline_run_id,
                                      const std::vector<std::string>& statuses, DateTime now) {
  if (statuses.empty()) return 0;
  for (const auto& s : statuses) Require(s, kBlockStatuses, "block run status");
  std::vector<SqlValue> params = {TimeValue(now), Int(pipeline_run_id)};
  for (SqlValue& v : StatusList(statuses)) params.push_back(std::move(v));
  std::lock_guard lock(mu_);
  return static_cast<int64_t>(
      db_->Query("UPDATE block_run SET status = 'INITIAL', updated_at = ?, started_at = NULL, "
                 "completed_at = NULL WHERE pipeline_run_id = ? AND status IN (" +
                     Placeholders(statuses.size()) + ") RETURNING id",
                 params)
          .size());
}

// ---- backfills ----------------------------------------------------------------------------

Backfill MetadataStore::CreateBackfill(Backfill b, DateTime now) {
  CheckBackfill(b);
  std::vector<SqlValue> params = {TimeValue(now), TimeValue(now)};
  for (SqlValue& v : BackfillFields(b)) params.push_back(std::move(v));
  std::lock_guard lock(mu_);
  auto rows = db_->Query(
      "INSERT INTO backfill (created_at, updated_at, name, pipeline_uuid, pipeline_schedule_id, "
      "block_uuid, start_datetime, end_datetime, interval_type, interval_units, variables, "
      "settings, status, started_at, completed_at, failed_at) VALUES (" +
          Placeholders(params.size()) + ") RETURNING " + kBackfillColumns,
      params);
  return BackfillFrom(rows.at(0));
}

std::optional<Backfill> MetadataStore::GetBackfill(int64_t id) {
  std::lock_guard lock(mu_);
  auto rows = db_->Query(std::string("SELECT ") + kBackfillColumns + " FROM backfill WHERE id = ?",
                         {Int(id)});
  if (rows.empty()) return std::nullopt;
  return BackfillFrom(rows[0]);
}

std::vector<Backfill> MetadataStore::ListBackfills(const std::string& pipeline_uuid) {
  std::lock_guard lock(mu_);
  auto rows =
      pipeline_uuid.empty()
          ? db_->Query(std::string("SELECT ") + kBackfillColumns + " FROM backfill ORDER BY id", {})
          : db_->Query(std::string("SELECT ") + kBackfillColumns +
                           " FROM backfill WHERE pipeline_uuid = ? ORDER BY id",
                       {pipeline_uuid});
  std::vector<Backfill> out;
  for (const auto& r : rows) out.push_back(BackfillFrom(r));
  return out;
}

bool MetadataStore::UpdateBackfill(const Backfill& b, DateTime now) {
  CheckBackfill(b);
  std::vector<SqlValue> params = {TimeValue(now)};
  for (SqlValue& v : BackfillFields(b)) params.push_back(std::move(v));
  params.push_back(Int(b.id));
  std::lock_guard lock(mu_);
  return !db_->Query(
                 "UPDATE backfill SET updated_at = ?, name = ?, pipeline_uuid = ?, "
                 "pipeline_schedule_id = ?, block_uuid = ?, start_datetime = ?, end_datetime = ?, "
                 "interval_type = ?, interval_units = ?, variables = ?, settings = ?, status = ?, "
                 "started_at = ?, completed_at = ?, failed_at = ? WHERE id = ? RETURNING id",
                 params)
              .empty();
}

bool MetadataStore::DeleteBackfill(int64_t id) {
  std::lock_guard lock(mu_);
  return !db_->Query("DELETE FROM backfill WHERE id = ? RETURNING id", {Int(id)}).empty();
}

bool IsPipelineRunStatus(const std::string& value) {
  return OneOf(value, kRunStatuses);
}
bool IsBlockRunStatus(const std::string& value) {
  return OneOf(value, kBlockStatuses);
}

}  // namespace kiln::store
