// orchestration/run_cancel.h: cancelling a pipeline run in the metadata store (spec 3.6): the run
// and its unfinished block runs become `cancelled`, each by compare-and-set, so a run that ended
// meanwhile keeps its status.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kiln/common/datetime.h"
#include "kiln/store/metadata_store.h"

namespace kiln::orchestration {

//! Moves run `run_id` to `cancelled` when its status is one of `from` (e.g. {"initial"}), then
//! its block runs in initial / queued / running, all at `now`. Returns whether the run moved.
//! Does not stop an executor running it (only its process can: run::PipelineRun::Cancel).
//! Throws store::StoreError.
bool CancelStoredRun(store::MetadataStore& store, int64_t run_id,
                     const std::vector<std::string>& from, const DateTime& now);

}  // namespace kiln::orchestration
