// `kiln start` and its REST API over real HTTP: Mage's routes and JSON shapes, the API trigger
// as the seed and Mage's docs call it with curl, token checks, bad bodies, cancel and retry.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <thread>

#include "kiln/common/files.h"
#include "support/kiln_project.h"
#include "support/kiln_server.h"
#include "support/postgres_server.h"

namespace kiln::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

class ApiServerTest : public ::testing::Test {
 protected:
  ApiServerTest() {
    project_.Write("data_loaders/load.sql", "SELECT * FROM range({{ n }}) t(id)");
    project_.Write("transformers/keep.sql", "SELECT * FROM {{ df_1 }} WHERE id % 2 = 0");
    project_.Write("pipelines/p/metadata.yaml", R"(name: p
variables: {n: 10}
blocks:
- {uuid: load, type: data_loader, language: sql}
- {uuid: keep, type: transformer, language: sql, upstream_blocks: [load]}
)");
  }

  //! Creates an active API trigger of pipeline p; returns (id, token).
  std::pair<int64_t, std::string> ApiTrigger(KilnServer& server) {
    auto [status, body] = server.Post(
        "/api/pipelines/p/pipeline_schedules",
        R"({"pipeline_schedule": {"name": "from CI", "schedule_type": "api", "status": "active"}})");
    EXPECT_EQ(status, 200) << body.dump();
    return {body["pipeline_schedule"]["id"], body["pipeline_schedule"]["token"]};
  }

  KilnProject project_;
};

TEST_F(ApiServerTest, StatusAndPipelinesAnswerInMagesShapes) {
  KilnServer server(project_);
  auto [status, body] = server.Get("/api/status");
  ASSERT_EQ(status, 200);
  EXPECT_EQ(body["statuses"][0]["scheduler_status"], "running");
  EXPECT_EQ(body["statuses"][0]["repo_path"], project_.root().string());

  auto [list_status, list] = server.Get("/api/pipelines");
  ASSERT_EQ(list_status, 200);
  EXPECT_EQ(list["metadata"]["count"], 1);
  EXPECT_EQ(list["pipelines"][0]["uuid"], "p");

  auto [detail_status, detail] = server.Get("/api/pipelines/p");
  ASSERT_EQ(detail_status, 200);
  EXPECT_EQ(detail["pipeline"]["blocks"][1]["upstream_blocks"], json::array({"load"}));
  EXPECT_EQ(detail["pipeline"]["variables"]["n"], 10);

  auto [missing_status, missing] = server.Get("/api/pipelines/nope");
  EXPECT_EQ(missing_status, 404);
  EXPECT_EQ(missing["error"]["type"], "record_not_found");
  EXPECT_THAT(missing["error"]["message"].get<std::string>(), HasSubstr("nope"));
}

TEST_F(ApiServerTest, TheApiTriggerStartsARunWithTheBodysVariables) {
  // The body's other top-level keys are the run's event variables, which blocks see (§1.6).
  project_.Write("transformers/keep.sql",
                 "SELECT * FROM {{ df_1 }} WHERE id % 2 = 0{% if source is defined %} AND "
                 "'{{ source }}' = 'ci'{% else %} AND false{% endif %}");
  KilnServer server(project_);
  auto [id, token] = ApiTrigger(server);
  EXPECT_THAT(token, MatchesRegex("[0-9a-f]{32}"));
  // As the course and Mage's docs call it.
  auto [status, body] =
      server.Post("/api/pipeline_schedules/" + std::to_string(id) + "/pipeline_runs/" + token,
                  R"({"pipeline_run": {"variables": {"n": 6}}, "source": "ci"})");
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["pipeline_run"]["status"], "initial");
  EXPECT_EQ(body["pipeline_run"]["variables"]["n"], 6);
  EXPECT_EQ(body["pipeline_run"]["event_variables"]["source"], "ci");
  const int64_t run_id = body["pipeline_run"]["id"];

  json run = server.WaitForRun(run_id);
  ASSERT_EQ(run["status"], "completed") << run.dump() << server.Output();
  ASSERT_EQ(run["block_runs"].size(), 2u);
  EXPECT_EQ(run["block_runs"][1]["block_uuid"], "keep");
  EXPECT_EQ(run["block_runs"][1]["metrics"]["rows"], 3);  // 0, 2, 4 of range(6)
  EXPECT_EQ(run["block_runs"][1]["pipeline_schedule_name"], "from CI");

  // The same through the Bearer form of the endpoint.
  auto [bearer_status, bearer] =
      server.Post("/api/pipeline_schedules/" + std::to_string(id) + "/api_trigger", "{}",
                  {{"Authorization", "Bearer " + token}});
  ASSERT_EQ(bearer_status, 200) << bearer.dump();
  EXPECT_EQ(server.WaitForRun(bearer["pipeline_run"]["id"])["status"], "completed");

  auto [list_status, list] = server.Get("/api/pipeline_runs?pipeline_uuid=p&_limit=1");
  ASSERT_EQ(list_status, 200);
  EXPECT_EQ(list["metadata"]["count"], 2);
  EXPECT_EQ(list["metadata"]["next"], true);
  EXPECT_EQ(list["pipeline_runs"].size(), 1u);

  auto [logs_status, logs] = server.Get(
      "/api/block_runs/" + std::to_string(run["block_runs"][1]["id"].get<int64_t>()) + "/logs");
  ASSERT_EQ(logs_status, 200);
  EXPECT_THAT(logs["logs"][0]["content"].get<std::string>(), HasSubstr("keep"));
}

TEST_F(ApiServerTest, AWrongTokenOrABadBodyCreatesNoRun) {
  KilnServer server(project_);
  auto [id, token] = ApiTrigger(server);
  const std::string url = "/api/pipeline_schedules/" + std::to_string(id) + "/pipeline_runs/";
  auto [wrong_status, wrong] = server.Post(url + "0123456789abcdef0123456789abcdef", "{}");
  EXPECT_EQ(wrong_status, 401);
  EXPECT_EQ(wrong["error"]["message"],
            "Invalid token for pipeline schedule ID " + std::to_string(id) + ".");
  auto [bad_status, bad] = server.Post(url + token, R"({"pipeline_run": )");
  EXPECT_EQ(bad_status, 400);
  EXPECT_THAT(bad["error"]["message"].get<std::string>(), HasSubstr("malformed JSON body"));
  auto [missing_status, missing] = server.Post("/api/pipeline_schedules/999/pipeline_runs/x", "{}");
  EXPECT_EQ(missing_status, 404);
  EXPECT_EQ(server.Get("/api/pipeline_runs").second["metadata"]["count"], 0);

  auto [invalid_status, invalid] =
      server.Post("/api/pipelines/p/pipeline_schedules",
                  R"({"pipeline_schedule": {"name": "t", "schedule_interval": "61 * * * *"}})");
  EXPECT_EQ(invalid_status, 400);
  EXPECT_THAT(invalid["error"]["message"].get<std::string>(), HasSubstr("schedule_interval"));
  EXPECT_EQ(server.Get("/api/pipeline_schedules").second["pipeline_schedules"].size(), 1u);
}

TEST_F(ApiServerTest, ARunningRunIsCancelledAndRetriedFromItsFailedBlocks) {
  // `slow` hangs on its first attempt only.
  project_.Write("transformers/slow.py", R"(
import os, time
from mage_ai.settings.repo import get_repo_path

@transformer
def slow(df, *args, **kwargs):
    marker = get_repo_path() + '/started.txt'
    if not os.path.exists(marker):
        open(marker, 'w').close()
        time.sleep(120)
    return df
)");
  project_.Write("pipelines/p/metadata.yaml", R"(variables: {n: 4}
blocks:
- {uuid: load, type: data_loader, language: sql}
- {uuid: slow, type: transformer, language: python, upstream_blocks: [load]}
)");
  KilnServer server(project_);
  auto [id, token] = ApiTrigger(server);
  const int64_t run_id =
      server.Post("/api/pipeline_schedules/" + std::to_string(id) + "/pipeline_runs/" + token, "{}")
          .second["pipeline_run"]["id"];
  for (int i = 0; i < 600 && !std::filesystem::exists(project_.root() / "started.txt"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto [cancel_status, cancel] = server.Put("/api/pipeline_runs/" + std::to_string(run_id),
                                            {{"pipeline_run", {{"status", "cancelled"}}}});
  ASSERT_EQ(cancel_status, 200) << cancel.dump();
  json cancelled = server.WaitForRun(run_id);
  EXPECT_EQ(cancelled["status"], "cancelled");
  EXPECT_EQ(cancelled["block_runs"][0]["status"], "completed");
  EXPECT_EQ(cancelled["block_runs"][1]["status"], "cancelled");

  auto [retry_status, retry] =
      server.Put("/api/pipeline_runs/" + std::to_string(run_id),
                 {{"pipeline_run", {{"pipeline_run_action", "retry_blocks"}}}});
  ASSERT_EQ(retry_status, 200) << retry.dump();
  json done = server.WaitForRun(run_id);
  EXPECT_EQ(done["status"], "completed") << server.Output();
  EXPECT_EQ(done["block_runs"][1]["status"], "completed");
}

TEST_F(ApiServerTest, ARunOfAKilledServerIsResumedByTheNextOneWithoutRedoingCompletedBlocks) {
  project_.Write("data_loaders/count.py", R"(
import pandas as pd
from mage_ai.settings.repo import get_repo_path

@data_loader
def count(*args, **kwargs):
    with open(get_repo_path() + '/count_runs.txt', 'a') as f:
        f.write('x\n')
    return pd.DataFrame({'id': [1, 2, 3]})
)");
  project_.Write("transformers/slow.py", R"(
import os, time
from mage_ai.settings.repo import get_repo_path

@transformer
def slow(df, *args, **kwargs):
    marker = get_repo_path() + '/started.txt'
    if not os.path.exists(marker):
        open(marker, 'w').close()
        time.sleep(120)
    return df[df['id'] > 1]
)");
  project_.Write("pipelines/p/metadata.yaml", R"(blocks:
- {uuid: count, type: data_loader, language: python}
- {uuid: slow, type: transformer, language: python, upstream_blocks: [count]}
)");
  int64_t run_id = 0;
  {
    KilnServer first(project_);
    auto [id, token] = ApiTrigger(first);
    run_id =
        first
            .Post("/api/pipeline_schedules/" + std::to_string(id) + "/pipeline_runs/" + token, "{}")
            .second["pipeline_run"]["id"];
    for (int i = 0; i < 1200 && !std::filesystem::exists(project_.root() / "started.txt"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(std::filesystem::exists(project_.root() / "started.txt")) << first.Output();
    // count's DataFrame is stored in the background: kill once it is on disk (a kill before
    // would rightly run count again, its output being lost).
    auto stored = [&] {
      std::error_code ec;
      for (const auto& e : std::filesystem::recursive_directory_iterator(
               project_.data_dir() / "pipelines/p/.variables", ec)) {
        if (e.path().filename() == "data.parquet" &&
            e.path().parent_path().filename() == "output_0" &&  // renamed into place: complete
            e.path().parent_path().parent_path().filename() == "count")
          return true;
      }
      return false;
    };
    for (int i = 0; i < 600 && !stored(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(first.Stop(SIGKILL), 128 + SIGKILL);
  }
  KilnServer second(project_);
  json run = second.WaitForRun(run_id);
  EXPECT_EQ(run["status"], "completed") << second.Output();
  EXPECT_EQ(run["block_runs"][1]["metrics"]["rows"], 2);
  EXPECT_EQ(ReadFile(project_.root() / "count_runs.txt"), "x\n");  // not run again
  EXPECT_THAT(second.Output(), HasSubstr("resuming pipeline run " + std::to_string(run_id)));
}

TEST_F(ApiServerTest, ATimeTriggerInTriggersYamlFiresWithoutAnyCall) {
  project_.Write("pipelines/p/triggers.yaml", R"(triggers:
- name: every minute
  schedule_type: time
  schedule_interval: '* * * * *'
  start_time: 2021-01-01 00:00:00
  status: active
  settings:
    create_initial_pipeline_run: true
)");
  KilnServer server(project_);
  json runs;
  for (int i = 0; i < 600; ++i) {
    runs = server.Get("/api/pipeline_runs?pipeline_uuid=p").second["pipeline_runs"];
    if (!runs.empty() && runs[0]["status"] == "completed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(runs.empty()) << server.Output();
  EXPECT_EQ(runs[0]["status"], "completed") << server.Output();
  // The start of the current minute, UTC (Mage's execution date of a cron trigger).
  EXPECT_THAT(runs[0]["execution_date"].get<std::string>(), MatchesRegex(".* ..:..:00\\+00:00"));
  auto schedules = server.Get("/api/pipeline_schedules").second["pipeline_schedules"];
  ASSERT_EQ(schedules.size(), 1u);
  EXPECT_EQ(schedules[0]["name"], "every minute");
  EXPECT_FALSE(schedules[0]["next_pipeline_run_date"].is_null());
}

TEST_F(ApiServerTest, ABackfillRunsEachDateOfItsWindowAndRefusesAnOverlappingOne) {
  KilnServer server(project_);
  auto create = [&](const std::string& name, const std::string& start, const std::string& end) {
    auto [status, body] = server.Post("/api/pipelines/p/backfills",
                                      json{{"backfill",
                                            {{"name", name},
                                             {"start_datetime", start},
                                             {"end_datetime", end},
                                             {"interval_type", "day"},
                                             {"interval_units", 1},
                                             {"settings", {{"pipeline_run_limit", 2}}}}}}
                                          .dump());
    EXPECT_EQ(status, 200) << body.dump();
    return body["backfill"]["id"].get<int64_t>();
  };
  const int64_t january = create("january", "2021-01-01 00:00:00", "2021-01-05 00:00:00");
  auto [start_status, started] = server.Put("/api/backfills/" + std::to_string(january),
                                            {{"backfill", {{"status", "initial"}}}});
  ASSERT_EQ(start_status, 200) << started.dump();
  EXPECT_EQ(started["backfill"]["total_run_count"], 5);

  const int64_t overlapping = create("again", "2021-01-05 00:00:00", "2021-01-06 00:00:00");
  auto [overlap_status, overlap] =
      server.Put("/api/backfills/" + std::to_string(overlapping),
                 {{"backfill", {{"status", "initial"}, {"name", "renamed"}}}});
  EXPECT_EQ(overlap_status, 409);
  EXPECT_THAT(overlap["error"]["message"].get<std::string>(),
              HasSubstr("overlaps backfill 'january'"));
  // Refused means nothing of the call is kept: the backfill is stored as it was before it.
  const json refused =
      server.Get("/api/backfills/" + std::to_string(overlapping)).second["backfill"];
  EXPECT_EQ(refused["name"], "again") << refused.dump();
  EXPECT_NE(refused["status"], "running") << refused.dump();

  json backfill;
  for (int i = 0; i < 1200; ++i) {
    backfill = server.Get("/api/backfills/" + std::to_string(january)).second["backfill"];
    if (backfill["status"] == "completed" || backfill["status"] == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(backfill["status"], "completed") << server.Output();
  json runs = server.Get("/api/pipeline_runs?backfill_id=" + std::to_string(january))
                  .second["pipeline_runs"];
  std::vector<std::string> dates;
  for (const auto& r : runs) {
    EXPECT_EQ(r["status"], "completed");
    dates.push_back(r["execution_date"]);
  }
  std::sort(dates.begin(), dates.end());
  EXPECT_EQ(dates,
            (std::vector<std::string>{"2021-01-01 00:00:00+00:00", "2021-01-02 00:00:00+00:00",
                                      "2021-01-03 00:00:00+00:00", "2021-01-04 00:00:00+00:00",
                                      "2021-01-05 00:00:00+00:00"}));
}

TEST_F(ApiServerTest, KilnTriggerAndKilnBackfillAskTheRunningServer) {
  KilnServer server(project_);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  ProcessResult trigger =
      project_.Kiln({"trigger", "p", "--url", url, "--runtime-vars", R"({"n": 8})", "--wait"});
  EXPECT_EQ(trigger.exit_code, 0) << trigger.err;
  EXPECT_THAT(trigger.out, HasSubstr("pipeline run 1 of p created"));
  EXPECT_THAT(trigger.out, HasSubstr("pipeline run 1: completed"));
  json run = server.Get("/api/pipeline_runs/1").second["pipeline_run"];
  EXPECT_EQ(run["block_runs"][1]["metrics"]["rows"], 4);  // 0, 2, 4, 6 of range(8)

  ProcessResult backfill = project_.Kiln(
      {"backfill", "p", "--start", "2021-01-01", "--end", "2021-01-03", "--url", url});
  EXPECT_EQ(backfill.exit_code, 0) << backfill.err;
  EXPECT_THAT(backfill.out, HasSubstr("started: 3 runs, 2021-01-01 to 2021-01-03 every 1 day"));

  ProcessResult nobody = project_.Kiln({"trigger", "p", "--url", "http://127.0.0.1:1"});
  EXPECT_EQ(nobody.exit_code, 2);
  EXPECT_THAT(nobody.err, HasSubstr("no kiln server answers at http://127.0.0.1:1"));
  ProcessResult unknown = project_.Kiln({"trigger", "nope", "--url", url});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("nope"));
}

TEST_F(ApiServerTest, APostgresMetadataStoreServesTheSameTriggersAndRuns) {
  PostgresServer pg;
  const std::string db = pg.CreateDatabase("kiln_meta");
  KilnServer server(project_, {}, {{"KILN_DATABASE_URL", pg.ConnInfo(db)}});
  EXPECT_THAT(server.Output(), HasSubstr("metadata store: postgresql postgres@"));
  auto [id, token] = ApiTrigger(server);
  const int64_t run_id =
      server.Post("/api/pipeline_schedules/" + std::to_string(id) + "/pipeline_runs/" + token, "{}")
          .second["pipeline_run"]["id"];
  EXPECT_EQ(server.WaitForRun(run_id)["status"], "completed") << server.Output();
  // Mage's tables and upper-case enums, in PostgreSQL.
  EXPECT_EQ(pg.Psql(db, "SELECT status FROM pipeline_run WHERE id = " + std::to_string(run_id)),
            "COMPLETED");
  EXPECT_EQ(pg.Psql(db, "SELECT count(*) FROM block_run WHERE status = 'COMPLETED'"), "2");
  EXPECT_FALSE(std::filesystem::exists(project_.data_dir() / "kiln.db"));
}

TEST_F(ApiServerTest, ARunPastItsSlaIsFlaggedAndPastItsTimeoutFails) {
  project_.Write("transformers/slow.py", R"(
import time

@transformer
def slow(df, *args, **kwargs):
    time.sleep(60)
    return df
)");
  project_.Write("pipelines/p/metadata.yaml", R"(variables: {n: 4}
blocks:
- {uuid: load, type: data_loader, language: sql}
- {uuid: slow, type: transformer, language: python, upstream_blocks: [load]}
)");
  KilnServer server(project_);
  auto [status, body] = server.Post("/api/pipelines/p/pipeline_schedules", R"({"pipeline_schedule":
      {"name": "bounded", "schedule_type": "api", "status": "active", "sla": 1,
       "settings": {"timeout": 3}}})");
  ASSERT_EQ(status, 200) << body.dump();
  const std::string url = "/api/pipeline_schedules/" +
                          std::to_string(body["pipeline_schedule"]["id"].get<int64_t>()) +
                          "/pipeline_runs/" + body["pipeline_schedule"]["token"].get<std::string>();
  const int64_t run_id = server.Post(url, "{}").second["pipeline_run"]["id"];
  json run = server.WaitForRun(run_id);
  EXPECT_EQ(run["status"], "failed") << server.Output();
  EXPECT_EQ(run["passed_sla"], true);
  EXPECT_THAT(run["metrics"]["error"]["message"].get<std::string>(),
              HasSubstr("timed out after 3 s"));
  EXPECT_EQ(run["block_runs"][1]["status"], "cancelled");
}

TEST(ApiServerStartTest, ANonLoopbackHostNeedsTheInsecureFlag) {
  KilnProject project;
  project.Write("pipelines/p/metadata.yaml", "blocks: []\n");
  ProcessResult r = project.Kiln({"start", project.root().string(), "--host", "0.0.0.0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--host 0.0.0.0 would let anyone who reaches this machine run "
                               "pipelines: Kiln has no user authentication yet"));
}

}  // namespace
}  // namespace kiln::testing
