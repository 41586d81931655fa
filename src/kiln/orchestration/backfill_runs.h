// orchestration/backfill_runs.h: the runs of a date-range backfill and its lifecycle (spec 4.2,
// 4.4). The API starts and cancels a backfill with these functions; the scheduler starts its
// runs under the trigger's run limit and calls UpdateBackfillStatus as they end.
//
//   StartedBackfill started = StartBackfill(store, backfill_id, project, now);  // runs: initial
//   scheduler.Wake();                                 // starts them, oldest first, under the limit
//   ... CancelBackfill(store, backfill_id, now);      // the initial ones become cancelled
//
// Lifecycle (spec 4.4):
//   start   a hidden trigger "Backfill <name>" (no schedule_type, @once, start_time now, the
//           backfill's variables and settings; settings.pipeline_run_limit is the throttle) is
//           created or reused; one `initial` run per date (execution_date = the date, block runs
//           created at once); the backfill becomes `initial` (started_at now), its trigger active.
//           Starting again a backfill that ended (completed, failed, cancelled) creates every
//           date's run again; older runs stay (the newest run per execution date counts).
//   running as soon as one of its runs is running;
//   end     once the newest run of every date has ended: `completed` when all completed, else
//           `failed` (Kiln: the status stays `running` until then, where Mage may mark it failed
//           at the first failure while other runs go on); its trigger becomes inactive.
//   cancel  its initial and running runs become `cancelled` (with their unfinished block runs),
//           the backfill `cancelled`, its trigger inactive.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kiln/common/datetime.h"
#include "kiln/project/project.h"
#include "kiln/store/metadata_store.h"

namespace kiln::orchestration {

//! The variables of each date's run (spec 4.2), in date order: the backfill's `variables` with,
//! written over them, ds ("YYYY-MM-DD"), hr ("HH"), execution_date, interval_start_datetime (the
//! date), interval_end_datetime (the next date; for the last one the date plus the previous
//! step), interval_seconds (end - start, a float), interval_start_datetime_previous (the date
//! minus interval_seconds; for the last one the previous date). Datetimes are ISO strings of the
//! naive UTC value ("2024-01-05T00:00:00"), as Mage writes them from its default SQLite store.
//! With exactly one date the four interval keys are null.
std::vector<nlohmann::json> BackfillRunVariables(const std::vector<DateTime>& dates,
                                                 const nlohmann::json& backfill_variables);

//! What StartBackfill created.
struct StartedBackfill {
  store::Backfill backfill;          //!< status initial, started_at, pipeline_schedule_id set
  store::PipelineSchedule schedule;  //!< the hidden trigger, active
  std::vector<int64_t> run_ids;      //!< one `initial` run per date, in date order
};

//! Starts backfill `backfill_id` at `now` (spec 4.4 step 3; see above). Runs left `initial` by an
//! earlier start of the same backfill are cancelled first, so no date runs twice at once.
//! Throws BackfillError when the backfill does not exist, is already initial/running, is a
//! custom-code backfill (block_uuid set: Mage OSS creates no runs for it, spec 4.3), lacks
//! start_datetime / end_datetime / interval_type, or has an invalid date range (BackfillDates);
//! project::ProjectError when its pipeline cannot be loaded; store::StoreError.
StartedBackfill StartBackfill(store::MetadataStore& store, int64_t backfill_id,
                              const project::Project& project, const DateTime& now);

//! What CancelBackfill changed.
struct CancelledBackfill {
  store::Backfill backfill;  //!< status cancelled
  //! Runs moved from initial to cancelled.
  std::vector<int64_t> cancelled_run_ids;
  //! Runs moved from running to cancelled in the store: the caller stops their executors
  //! (run::PipelineRun::Cancel), which only the process running them can do.
  std::vector<int64_t> running_run_ids;
};

//! Cancels backfill `backfill_id` at `now` (spec 4.4 step 6). Cancelling a cancelled backfill
//! changes nothing. Throws BackfillError when it does not exist or is not initial / running /
//! cancelled; store::StoreError.
CancelledBackfill CancelBackfill(store::MetadataStore& store, int64_t backfill_id,
                                 const DateTime& now);

//! The scheduler's bookkeeping for a started backfill (spec 4.4 step 5): initial -> running when
//! one of its newest runs is running or in `launched_run_ids`; running -> completed / failed
//! when every date's newest run has ended (completed_at or failed_at = now), the trigger then
//! set inactive. Returns the new status when it changed. Does nothing unless the backfill is
//! initial or running.
std::optional<std::string> UpdateBackfillStatus(store::MetadataStore& store,
                                                const store::Backfill& backfill,
                                                const std::set<int64_t>& launched_run_ids,
                                                const DateTime& now);

}  // namespace kiln::orchestration
