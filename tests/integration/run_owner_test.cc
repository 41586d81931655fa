// Which runs a restarted kiln takes over: those whose owner process is gone (this host, at
// once) or whose heartbeat went stale (other hosts); never those of a live process.
#include <gtest/gtest.h>

#include "kiln/orchestration/run_owner.h"
#include "kiln/orchestration/stored_run.h"
#include "support/temp_dir.h"

namespace kiln::orchestration {
namespace {

TEST(RunOwnerTest, RunsOfDeadProcessesOrStaleHeartbeatsAreOrphanedAndLiveOnesAreNot) {
  kiln::testing::TempDir dir;
  store::StoreLocation location;
  location.sqlite_path = (dir.path() / "kiln.db").string();
  auto store = store::MetadataStore::Open(location);
  const DateTime now = DateTime::NowUtcPrecise();
  auto running = [&](const std::string& owner, DateTime heartbeat) {
    store::PipelineRun run;
    run.pipeline_uuid = "p";
    run.execution_date = now;
    int64_t id = store->CreatePipelineRun(run, {"a"}, now).id;
    store->TransitionPipelineRun(id, {"initial"}, "running", heartbeat);
    store->SetOwner(id, owner);
    return id;
  };
  const std::string self = ThisProcessOwner();
  const std::string host = self.substr(0, self.find('/'));
  const int64_t mine = running(self, now);
  const int64_t dead = running(host + "/999999999/1", now);  // no such pid
  const int64_t reused =
      running(host + self.substr(self.find('/'), self.rfind('/') - self.find('/')) + "/1",
              now);  // our pid, another start time: a reused pid
  const int64_t elsewhere_alive = running("other-host/12/34", now);
  const int64_t elsewhere_stale = running("other-host/12/35", now.AddMicros(-60'000'000));

  std::vector<int64_t> ids;
  for (const auto& r : OrphanedRuns(*store, now)) ids.push_back(r.id);
  EXPECT_EQ(ids, (std::vector<int64_t>{dead, reused, elsewhere_stale}));
  (void)mine;
  (void)elsewhere_alive;
}

}  // namespace
}  // namespace kiln::orchestration
