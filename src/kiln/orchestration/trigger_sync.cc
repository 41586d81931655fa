#include "kiln/orchestration/trigger_sync.h"

#include <optional>
#include <system_error>

#include "kiln/orchestration/error.h"
#include "kiln/orchestration/schedule_interval.h"
#include "kiln/project/error.h"
#include "kiln/project/trigger.h"

namespace kiln::orchestration {
namespace fs = std::filesystem;
namespace {

bool SameInstant(const std::optional<DateTime>& a, const std::optional<DateTime>& b) {
  if (!a || !b) return a.has_value() == b.has_value();
  return a->utc_micros() == b->utc_micros();
}

// The fields triggers.yaml defines (spec 1.9 item 3), compared to decide on an update.
bool SameDefinition(const store::PipelineSchedule& a, const store::PipelineSchedule& b) {
  return a.name == b.name && a.pipeline_uuid == b.pipeline_uuid && a.description == b.description &&
         a.schedule_type == b.schedule_type && SameInstant(a.start_time, b.start_time) &&
         a.schedule_interval == b.schedule_interval && a.status == b.status &&
         SameInstant(a.last_enabled_at, b.last_enabled_at) && a.variables == b.variables &&
         a.sla_seconds == b.sla_seconds && a.token == b.token && a.repo_path == b.repo_path &&
         a.settings == b.settings;
}

// last_enabled_at as the header describes (Kiln keeps it in the store, not in the file).
std::optional<DateTime> LastEnabledAt(const project::Trigger& t,
                                      const store::PipelineSchedule* existing,
                                      const DateTime& now) {
  const bool active = t.status == project::ScheduleStatus::kActive;
  if (existing == nullptr) {
    if (t.last_enabled_at) return t.last_enabled_at;
    return active ? std::optional(now) : std::nullopt;
  }
  if (active && (existing->status != "active" ||
                 existing->schedule_interval != t.schedule_interval.value_or(""))) {
    return now;
  }
  if (existing->last_enabled_at) return existing->last_enabled_at;
  if (t.last_enabled_at) return t.last_enabled_at;
  return active ? std::optional(now) : std::nullopt;
}

// The stored form of `t`: `existing` (when found) with the file's fields written over it.
store::PipelineSchedule Desired(const project::Trigger& t, const store::PipelineSchedule* existing,
                                const std::string& repo_path, const DateTime& now) {
  store::PipelineSchedule s = existing ? *existing : store::PipelineSchedule{};
  s.name = t.name;
  s.pipeline_uuid = t.pipeline_uuid;
  s.description = t.description.value_or("");
  s.schedule_type = t.schedule_type ? std::string(project::ScheduleTypeName(*t.schedule_type)) : "";
  s.start_time = t.start_time;
  s.schedule_interval = t.schedule_interval.value_or("");
  s.status = std::string(project::ScheduleStatusName(t.status));
  s.last_enabled_at = LastEnabledAt(t, existing, now);
  s.variables = t.variables;
  s.sla_seconds = t.sla_seconds;
  if (t.token && !t.token->empty()) s.token = *t.token;  // a pinned token wins (spec 1.7)
  s.repo_path = repo_path;
  s.settings = t.settings.raw.is_object() ? t.settings.raw : nlohmann::json::object();
  return s;
}

class FileSync {
 public:
  FileSync(store::MetadataStore& store, const project::Project& project, const DateTime& now,
           TriggerSyncReport& report)
      : store_(store), repo_path_(project.root().string()), now_(now), report_(report) {}

  // Syncs the triggers of one parsed file. Returns how many triggers the file had.
  size_t Sync(const project::TriggersFile& file, const std::string& pipeline_uuid,
              const std::string& mage_env) {
    store_failed_ = false;
    report_.warnings.insert(report_.warnings.end(), file.warnings.begin(), file.warnings.end());
    std::vector<store::PipelineSchedule> stored = store_.ListSchedules(pipeline_uuid);
    for (const project::Trigger& t : file.triggers) {
      if (!t.AppliesToEnv(mage_env)) continue;
      try {
        TimingOf(t);  // validates schedule_interval: "<file>:<line>: trigger 'x': ..."
        SyncOne(t, stored);
      } catch (const OrchestrationError& e) {
        report_.errors.push_back(e.what());
      } catch (const store::StoreError& e) {
        store_failed_ = true;
        report_.errors.push_back(t.Where() + ": trigger '" + t.name +
                                 "': the metadata store refused it: " + e.what());
      }
    }
    return file.triggers.size();
  }

  //! The store refused a trigger of the last file synced: read the file again next time.
  bool store_failed() const { return store_failed_; }

 private:
  void SyncOne(const project::Trigger& t, std::vector<store::PipelineSchedule>& stored) {
    store::PipelineSchedule* existing = nullptr;
    for (store::PipelineSchedule& s : stored) {
      if (s.name == t.name && (s.repo_path.empty() || s.repo_path == repo_path_)) {
        existing = &s;
        break;
      }
    }
    store::PipelineSchedule desired = Desired(t, existing, repo_path_, now_);
    if (existing == nullptr) {
      stored.push_back(store_.CreateSchedule(desired, now_));
      ++report_.created;
    } else if (SameDefinition(desired, *existing)) {
      ++report_.unchanged;
    } else {
      store_.UpdateSchedule(desired, now_);
      *existing = desired;
      ++report_.updated;
    }
  }

  store::MetadataStore& store_;
  const std::string repo_path_;
  const DateTime now_;
  TriggerSyncReport& report_;
  bool store_failed_ = false;
};

}  // namespace

bool TriggerFileCache::Unchanged(const fs::path& file, fs::file_time_type mtime) const {
  auto it = synced_.find(file);
  return it != synced_.end() && it->second == mtime;
}

void TriggerFileCache::Remember(const fs::path& file, fs::file_time_type mtime) {
  synced_[file] = mtime;
}

void TriggerFileCache::Forget(const fs::path& file) {
  synced_.erase(file);
}

TriggerSyncReport SyncTriggers(store::MetadataStore& store, const project::Project& project,
                               const DateTime& now, const TriggerSyncOptions& options) {
  TriggerSyncReport report;
  FileSync sync(store, project, now, report);
  for (const std::string& uuid : project.PipelineUuids()) {
    const fs::path file = project.root() / "pipelines" / uuid / "triggers.yaml";
    std::error_code ec;
    const fs::file_time_type mtime = fs::last_write_time(file, ec);
    if (ec) {  // no triggers.yaml: nothing to sync
      if (options.cache) options.cache->Forget(file);
      continue;
    }
    if (options.cache && options.cache->Unchanged(file, mtime)) continue;
    // Remembered once synced, or once reported as unreadable (one report per version of the
    // file); a file without triggers is read on every pass, as in Mage.
    bool remember = true;
    try {
      const size_t triggers =
          sync.Sync(project::LoadTriggers(project.root(), uuid), uuid, options.mage_env);
      remember = triggers > 0 && !sync.store_failed();
    } catch (const project::ProjectError& e) {
      report.errors.push_back(e.what());
    }
    if (options.cache) {
      if (remember) {
        options.cache->Remember(file, mtime);
      } else {
        options.cache->Forget(file);
      }
    }
  }
  return report;
}

}  // namespace kiln::orchestration
