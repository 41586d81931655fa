// orchestration/run_owner.h: which process runs a run, and finding the runs whose process is
// gone, so that a restarted `kiln start` resumes them (at least once) instead of leaving them
// "running" forever.
#pragma once

#include <string>
#include <vector>

#include "kiln/store/metadata_store.h"

namespace kiln::orchestration {

//! This process as a run owner: "<host name>/<pid>/<process start time, clock ticks since
//! boot>" (the start time tells a reused pid apart).
std::string ThisProcessOwner();

//! "running" runs of `store` whose process is gone: owned by a process of this host that no
//! longer exists (found at once), or, owned elsewhere or by nobody, whose heartbeat is older than
//! kStaleAfter (stored_run.h) at `now`. Runs of live processes are never returned.
std::vector<store::PipelineRun> OrphanedRuns(store::MetadataStore& store, DateTime now);

}  // namespace kiln::orchestration
