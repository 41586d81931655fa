// orchestration/trigger_sync.h: triggers as code (`pipelines/<uuid>/triggers.yaml`) into the
// metadata store, as Mage's scheduler syncs them at the start of each pass (spec 1.9).
//
//   TriggerFileCache cache;                       // one per scheduler
//   TriggerSyncReport r = SyncTriggers(store, project, DateTime::NowUtcPrecise(),
//                                      {.mage_env = "prod", .cache = &cache});
//   for (const auto& e : r.errors) log(e);        // "<file>:<line>: trigger 'x': ..."
//
// Rules reproduced (spec 1.9): a trigger is identified by (pipeline_uuid, name) among the
// store's triggers of this project (repo_path = the project folder, or none); a missing one is
// created (the store generates its token unless the file pins one), a changed one is updated
// (description, schedule_type, schedule_interval, start_time, status, variables, sla, settings,
// a pinned token, repo_path); triggers whose `envs` exclude the current environment are skipped;
// deletes are not synced (a trigger removed from the file, or made in the UI, stays). A file is
// read again only when its modification time changed (a file without triggers every time), so an
// API edit of a code-defined trigger lasts until the file changes, as in Mage.
//
// Kiln decision: Mage rewrites triggers.yaml to record last_enabled_at (spec 1.9 item 4), which
// reformats the user's file. Kiln never writes the file; it keeps last_enabled_at in the store:
//   - a new trigger takes the file's last_enabled_at, else now when it is active;
//   - an active trigger that was inactive in the store, or whose schedule_interval changed, gets
//     now (spec 1.1: enabling skips the interval in progress unless create_initial_pipeline_run);
//   - otherwise the store's value is kept (else the file's, else now when active).
// A trigger file that cannot be read, or a trigger whose schedule_interval is not valid, is
// reported in `errors` and skipped; every other trigger and file still syncs.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "kiln/common/datetime.h"
#include "kiln/project/project.h"
#include "kiln/store/metadata_store.h"

namespace kiln::orchestration {

//! Which triggers.yaml files were synced, at which modification time (spec 1.9 item 1). Owned by
//! one scheduler; not thread-safe.
class TriggerFileCache {
 public:
  //! True when `file` was remembered with modification time `mtime`.
  bool Unchanged(const std::filesystem::path& file, std::filesystem::file_time_type mtime) const;
  void Remember(const std::filesystem::path& file, std::filesystem::file_time_type mtime);
  void Forget(const std::filesystem::path& file);

 private:
  std::map<std::filesystem::path, std::filesystem::file_time_type> synced_;
};

//! How SyncTriggers runs.
struct TriggerSyncOptions {
  //! The environment `envs` is matched against: project::MageEnvName(ENV).
  std::string mage_env = "dev";
  //! Files unchanged since they were last synced are skipped; nullptr: every file is read.
  TriggerFileCache* cache = nullptr;
};

//! What one SyncTriggers call did.
struct TriggerSyncReport {
  int created = 0;    //!< triggers inserted into the store
  int updated = 0;    //!< triggers whose stored fields changed
  int unchanged = 0;  //!< triggers already as the file says
  //! Complete messages naming the file and line: unknown keys and ignored values.
  std::vector<std::string> warnings;
  //! Complete messages naming the file and line: files that cannot be parsed, invalid
  //! schedule_interval values, triggers the store refused.
  std::vector<std::string> errors;
};

//! Syncs the triggers.yaml of every pipeline of `project` into `store` (spec 1.9), as of `now`
//! (UTC; written as updated_at and, per the rules above, last_enabled_at). Never throws for a bad
//! file or trigger (see `errors`); throws store::StoreError when the store cannot be read.
TriggerSyncReport SyncTriggers(store::MetadataStore& store, const project::Project& project,
                               const DateTime& now, const TriggerSyncOptions& options = {});

}  // namespace kiln::orchestration
