#include "kiln/orchestration/run_cancel.h"

namespace kiln::orchestration {

bool CancelStoredRun(store::MetadataStore& store, int64_t run_id,
                     const std::vector<std::string>& from, const DateTime& now) {
  if (!store.TransitionPipelineRun(run_id, from, "cancelled", now)) return false;
  for (const store::BlockRun& b : store.ListBlockRuns(run_id)) {
    if (b.status == "initial" || b.status == "queued" || b.status == "running") {
      store.TransitionBlockRun(b.id, {b.status}, "cancelled", now);
    }
  }
  return true;
}

}  // namespace kiln::orchestration
