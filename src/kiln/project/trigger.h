// project/trigger.h: triggers as code, `pipelines/<uuid>/triggers.yaml` (spec 1.9).
//
// A trigger (Mage's pipeline schedule) says when a pipeline runs: on a time schedule, on an API
// call or on an event (spec 1.2). This file reads the YAML form into values; it does not schedule.
// schedule_interval is kept as the text written: the cron parser lives in orchestration/ (a
// higher layer), whose TimingOf() validates it and reports "<file>:<line>: trigger '<name>': ...".
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/common/datetime.h"

namespace kiln::project {

//! Mage's ScheduleType (spec 1.2).
enum class ScheduleType { kTime, kApi, kEvent };
//! Mage's ScheduleStatus (spec 1.1): only active triggers are scheduled.
enum class ScheduleStatus { kActive, kInactive };

//! "time", "api", "event".
std::string_view ScheduleTypeName(ScheduleType type);
//! "active", "inactive".
std::string_view ScheduleStatusName(ScheduleStatus status);

//! A trigger's `settings` (spec 1.5): the keys Mage acts on, typed, plus every key as written.
struct TriggerSettings {
  //! Time triggers: a run due while another is initial/running is created cancelled.
  bool skip_if_previous_running = false;
  //! Blocks not downstream of a failure keep running; the run still ends failed.
  bool allow_blocks_to_fail = false;
  //! Enabling mid-interval also runs the interval in progress (spec 2.2).
  bool create_initial_pipeline_run = false;
  //! start_time is a deadline, not a start bound (spec 2.5).
  bool landing_time_enabled = false;
  //! Per-trigger limit of running runs (spec 2.6); nullopt: the pipeline's.
  std::optional<int64_t> pipeline_run_limit;
  //! A running run older than this many seconds (since started_at) is ended (spec 2.7).
  std::optional<double> timeout_seconds;
  //! The status a timed-out run gets: "failed" (Mage's default when unset) or "cancelled".
  std::optional<std::string> timeout_status;
  //! Set by Mage's YAML loader for an invalid cron (spec 1.3); read back, never acted on.
  bool invalid_schedule_interval = false;
  //! The whole `settings` object as written (unknown keys preserved, as Mage does): an object.
  nlohmann::json raw = nlohmann::json::object();
};

//! One entry of `triggers:` (spec 1.9). Absent optional keys are nullopt.
struct Trigger {
  //! Required, non-empty, unique within the pipeline; with pipeline_uuid, the trigger's identity.
  std::string name;
  //! The folder name: the file's `pipeline_uuid` key, if any, is ignored (spec 1.9).
  std::string pipeline_uuid;
  //! nullopt when absent or null (Mage's auto-created backfill schedules have none).
  std::optional<ScheduleType> schedule_type;
  //! As written: "@daily", "0 */2 * * *", ... nullopt when absent or null (no time-based runs).
  //! REQUIRES validation by orchestration::TimingOf before use.
  std::optional<std::string> schedule_interval;
  //! spec 1.4, as an aware UTC instant: a YAML date is midnight UTC, a naive datetime is UTC, a
  //! datetime with an offset is converted to UTC.
  std::optional<DateTime> start_time;
  //! Default inactive (spec 1.1).
  ScheduleStatus status = ScheduleStatus::kInactive;
  //! Trigger-level runtime variables (spec 1.6): an object, empty when absent.
  nlohmann::json variables = nlohmann::json::object();
  //! SLA in seconds (spec 2.7).
  std::optional<int64_t> sla_seconds;
  TriggerSettings settings;
  //! Environments the trigger applies to (dev, staging, prod, test, test_mage); empty: all.
  std::vector<std::string> envs;
  std::optional<std::string> description;
  //! A pinned API token (spec 1.7).
  std::optional<std::string> token;
  //! When the trigger was last enabled (spec 2.2), aware UTC.
  std::optional<DateTime> last_enabled_at;
  //! Keys Kiln does not know, as written (kept so a write-back loses nothing): an object.
  nlohmann::json unknown_keys = nlohmann::json::object();

  //! The file it was read from and the line of its entry.
  std::filesystem::path file;
  int line = 0;
  //! The line of its schedule_interval value (for errors about the interval).
  int schedule_interval_line = 0;

  //! "<file>:<line>" for `line` (the entry's own line when 0).
  std::string Where(int at_line = 0) const;
  //! spec 1.9 item 2: true when `envs` is empty or holds `mage_env` (see MageEnvName).
  bool AppliesToEnv(std::string_view mage_env) const;
};

//! A triggers.yaml file: its triggers in file order and the warnings it raised, each complete:
//! "<file>:<line>: trigger '<name>': unknown key 'foo' (kept, not used)".
struct TriggersFile {
  std::vector<Trigger> triggers;
  std::vector<std::string> warnings;
};

//! Reads `<project_root>/pipelines/<pipeline_uuid>/triggers.yaml`; a missing file has no
//! triggers. Throws ProjectError "<file>:<line>: ..." as ParseTriggers does.
TriggersFile LoadTriggers(const std::filesystem::path& project_root,
                          const std::string& pipeline_uuid);

//! Parses triggers.yaml text; `file` names it in messages. An empty document or a null
//! `triggers:` has no triggers. Unknown keys (top level, trigger) are kept and warned about.
//! Throws ProjectError "<file>:<line>: trigger '<name>': <what>" for invalid YAML, a trigger
//! without a name, a duplicate name, or a value of the wrong type or outside Mage's choices
//! (schedule_type, status, envs, start_time, sla, settings). Mage would skip such a trigger and
//! load the others; Kiln refuses the file so that the mistake is seen.
TriggersFile ParseTriggers(std::string_view yaml, const std::filesystem::path& file,
                           const std::string& pipeline_uuid);

//! The environment name Mage matches `envs` against (spec 1.9 item 2), from the ENV variable:
//! "prod" for prod/production, "staging", "test", otherwise (or unset) "dev".
std::string MageEnvName(const std::optional<std::string>& env_variable);

//! Parses a start_time/last_enabled_at value as PyYAML and Python's fromisoformat read it:
//! "2024-01-01", "2024-1-5 6:30:00", "2024-01-01T06:30:00.5Z", "2024-01-01 06:30:00 +02:00",
//! "2024-01-01T06:30". Returns an aware UTC value; nullopt when the text is not a date.
std::optional<DateTime> ParseTriggerTime(std::string_view text);

}  // namespace kiln::project
