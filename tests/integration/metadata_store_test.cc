// The metadata store, the same suite against SQLite (a file in a temp dir) and a real
// PostgreSQL server: migrations, triggers, runs and block runs with compare-and-set transitions,
// heartbeats, backfills, Mage's upper-case enum storage, and durability across reopening.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>

#include "kiln/store/metadata_store.h"
#include "kiln/store/schema.h"
#include "support/postgres_server.h"
#include "support/temp_dir.h"

namespace kiln::store {
namespace {

using kiln::testing::PostgresServer;
using kiln::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

DateTime At(int day, int hour = 0, int minute = 0) {
  return DateTime(DateTime::FromParts(2021, 1, day, hour, minute).wall_micros(), 0);
}

class MetadataStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {}
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    if (GetParam() == "postgres") {
      if (!server_) server_ = std::make_unique<PostgresServer>();
      database_ = server_->CreateDatabase("kiln_store");
      location_.postgres_url = server_->ConnInfo(database_);
    } else {
      location_.sqlite_path = (dir_.path() / "kiln.db").string();
    }
    store_ = MetadataStore::Open(location_);
  }

  //! A second, raw connection to the same database, to look at what is really stored.
  std::unique_ptr<SqlBackend> Raw() const {
    return location_.postgres_url.empty() ? OpenSqlite(location_.sqlite_path)
                                          : OpenPostgres(location_.postgres_url);
  }
  std::string RawValue(const std::string& sql) const {
    auto rows = Raw()->Query(sql, {});
    return rows.empty() || !rows[0][0] ? "NULL" : *rows[0][0];
  }

  PipelineRun NewRun(const std::string& pipeline = "etl", int day = 1) {
    PipelineRun run;
    run.pipeline_uuid = pipeline;
    run.execution_date = At(day);
    run.variables = {{"source_url", "x.csv"}};
    return store_->CreatePipelineRun(run, {"load", "transform", "export"}, At(day, 0, 1));
  }

  static inline std::unique_ptr<PostgresServer> server_;
  TempDir dir_;
  std::string database_;  // PostgreSQL only
  StoreLocation location_;
  std::unique_ptr<MetadataStore> store_;
};

TEST_P(MetadataStoreTest, MigrationsRunOnceAndANewerSchemaIsRefused) {
  std::unique_ptr<SqlBackend> raw = Raw();
  EXPECT_EQ(Migrate(*raw), 0);  // Open() already migrated
  EXPECT_EQ(RawValue("SELECT version FROM kiln_schema_version"), std::to_string(SchemaVersion()));
  raw->Query("UPDATE kiln_schema_version SET version = 99", {});
  try {
    MetadataStore::Open(location_);
    FAIL() << "a schema from a newer Kiln was accepted";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("schema version 99, written by a newer Kiln"));
  }
}

TEST_P(MetadataStoreTest, TriggersAreCreatedWithARandomTokenListedUpdatedAndDeleted) {
  PipelineSchedule s;
  s.name = "daily";
  s.pipeline_uuid = "etl";
  s.schedule_interval = "@daily";
  s.start_time = At(1);
  s.status = "active";
  s.variables = {{"n", 3}};
  s.settings = {{"skip_if_previous_running", true}};
  PipelineSchedule a = store_->CreateSchedule(s, At(2));
  PipelineSchedule b = store_->CreateSchedule(s, At(2));
  EXPECT_GT(a.id, 0);
  EXPECT_THAT(a.token, MatchesRegex("[0-9a-f]{32}"));
  EXPECT_NE(a.token, b.token);
  EXPECT_EQ(a.last_enabled_at, At(2));  // created active
  EXPECT_EQ(RawValue("SELECT status FROM pipeline_schedule WHERE id = " + std::to_string(a.id)),
            "ACTIVE");  // Mage stores enum members upper-case

  std::optional<PipelineSchedule> got = store_->GetSchedule(a.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->schedule_interval, "@daily");
  EXPECT_EQ(got->start_time, At(1));
  EXPECT_EQ(got->variables["n"], 3);
  EXPECT_EQ(got->settings["skip_if_previous_running"], true);
  EXPECT_EQ(got->status, "active");

  got->status = "inactive";
  EXPECT_TRUE(store_->UpdateSchedule(*got, At(3)));
  EXPECT_EQ(store_->GetSchedule(a.id)->status, "inactive");
  EXPECT_EQ(store_->ListSchedules("etl").size(), 2u);
  EXPECT_TRUE(store_->ListSchedules("other").empty());
  EXPECT_TRUE(store_->DeleteSchedule(a.id));
  EXPECT_FALSE(store_->DeleteSchedule(a.id));
  EXPECT_FALSE(store_->GetSchedule(a.id));
}

TEST_P(MetadataStoreTest, BadTriggersAreRefusedNamingTheField) {
  PipelineSchedule s;
  s.name = "t";
  s.pipeline_uuid = "etl";
  s.status = "paused";
  EXPECT_THROW(
      {
        try {
          store_->CreateSchedule(s, At(1));
        } catch (const StoreError& e) {
          EXPECT_STREQ(e.what(), "trigger status 'paused' is not one of active, inactive");
          throw;
        }
      },
      StoreError);
  s.status = "active";
  s.name = "";
  EXPECT_THROW(store_->CreateSchedule(s, At(1)), StoreError);
  EXPECT_TRUE(store_->ListSchedules().empty());  // nothing stored half-way
}

TEST_P(MetadataStoreTest, ARunIsCreatedWithOneInitialBlockRunPerBlock) {
  PipelineRun run = NewRun();
  EXPECT_EQ(run.status, "initial");
  EXPECT_EQ(run.execution_date, At(1));
  EXPECT_EQ(run.variables["source_url"], "x.csv");
  std::vector<BlockRun> blocks = store_->ListBlockRuns(run.id);
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[0].block_uuid, "load");
  EXPECT_EQ(blocks[2].block_uuid, "export");
  for (const BlockRun& b : blocks) EXPECT_EQ(b.status, "initial");
}

TEST_P(MetadataStoreTest, TransitionsAreCompareAndSetAndStampTheirTimes) {
  PipelineRun run = NewRun();
  EXPECT_TRUE(store_->TransitionPipelineRun(run.id, {"initial"}, "running", At(1, 0, 2)));
  EXPECT_FALSE(store_->TransitionPipelineRun(run.id, {"initial"}, "running", At(1, 0, 3)));
  PipelineRun running = *store_->GetPipelineRun(run.id);
  EXPECT_EQ(running.status, "running");
  EXPECT_EQ(running.started_at, At(1, 0, 2));
  EXPECT_EQ(running.heartbeat_at, At(1, 0, 2));
  EXPECT_FALSE(running.completed_at);
  EXPECT_EQ(RawValue("SELECT status FROM pipeline_run"), "RUNNING");

  BlockRun load = store_->ListBlockRuns(run.id)[0];
  EXPECT_TRUE(store_->TransitionBlockRun(load.id, {"initial", "queued"}, "running", At(1, 0, 2)));
  EXPECT_TRUE(store_->TransitionBlockRun(load.id, {"running"}, "failed", At(1, 0, 4),
                                         {{"error", {{"message", "boom"}}}}));
  BlockRun failed = *store_->GetBlockRun(load.id);
  EXPECT_EQ(failed.status, "failed");
  EXPECT_EQ(failed.completed_at, At(1, 0, 4));
  EXPECT_EQ(failed.metrics["error"]["message"], "boom");
  EXPECT_FALSE(store_->TransitionBlockRun(load.id, {"running"}, "completed", At(1, 0, 5)));

  EXPECT_TRUE(store_->TransitionPipelineRun(run.id, {"running"}, "failed", At(1, 0, 5)));
  EXPECT_EQ(store_->GetPipelineRun(run.id)->completed_at, At(1, 0, 5));
  // Retrying from the failed blocks: they go back to initial, the others stay.
  EXPECT_EQ(store_->ResetBlockRuns(run.id, {"failed", "cancelled", "upstream_failed"}, At(2)), 1);
  EXPECT_EQ(store_->GetBlockRun(load.id)->status, "initial");
  EXPECT_FALSE(store_->GetBlockRun(load.id)->completed_at);
  EXPECT_TRUE(store_->TransitionPipelineRun(run.id, {"failed"}, "running", At(2)));
  EXPECT_EQ(store_->GetPipelineRun(run.id)->started_at, At(1, 0, 2));  // the first start stays
  EXPECT_THROW(store_->TransitionPipelineRun(run.id, {"running"}, "done", At(2)), StoreError);
}

TEST_P(MetadataStoreTest, TwoStoresRacingForTheSameRunStartItOnce) {
  PipelineRun run = NewRun();
  std::atomic<int> winners = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      std::unique_ptr<MetadataStore> other = MetadataStore::Open(location_);
      if (other->TransitionPipelineRun(run.id, {"initial"}, "running", At(1, 1))) ++winners;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners, 1);
}

TEST_P(MetadataStoreTest, RunsAreListedNewestFirstWithFiltersAndCounted) {
  PipelineRun a = NewRun("etl", 1);
  PipelineRun b = NewRun("etl", 2);
  NewRun("other", 3);
  store_->TransitionPipelineRun(b.id, {"initial"}, "running", At(2));
  RunFilter etl;
  etl.pipeline_uuid = "etl";
  std::vector<PipelineRun> runs = store_->ListPipelineRuns(etl);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].id, b.id);
  EXPECT_EQ(runs[1].id, a.id);
  etl.statuses = {"running"};
  EXPECT_EQ(store_->CountPipelineRuns(etl), 1);
  RunFilter page;
  page.limit = 1;
  page.offset = 1;
  ASSERT_EQ(store_->ListPipelineRuns(page).size(), 1u);
  EXPECT_EQ(store_->ListPipelineRuns(page)[0].id, b.id);
  EXPECT_EQ(store_->CountPipelineRuns(RunFilter{}), 3);
}

TEST_P(MetadataStoreTest, HeartbeatsAreKeptOnTheRunningRuns) {
  PipelineRun alive = NewRun("etl", 1);
  PipelineRun dead = NewRun("etl", 2);
  store_->TransitionPipelineRun(alive.id, {"initial"}, "running", At(5, 0, 0));
  store_->TransitionPipelineRun(dead.id, {"initial"}, "running", At(5, 0, 0));
  store_->Heartbeat({alive.id}, At(5, 0, 10));
  std::vector<PipelineRun> running = store_->RunningRuns();
  ASSERT_EQ(running.size(), 2u);
  for (const PipelineRun& run : running) {
    ASSERT_TRUE(run.heartbeat_at.has_value()) << run.id;
    EXPECT_EQ(run.heartbeat_at->utc_micros() == At(5, 0, 10).utc_micros(), run.id == alive.id)
        << run.id;
  }
}

TEST_P(MetadataStoreTest, BackfillsAreStoredAndValidated) {
  Backfill b;
  b.name = "january";
  b.pipeline_uuid = "etl";
  b.start_datetime = At(1);
  b.end_datetime = At(5);
  b.interval_type = "day";
  b.interval_units = 1;
  b.variables = {{"k", "v"}};
  Backfill stored = store_->CreateBackfill(b, At(6));
  EXPECT_EQ(stored.status, "");  // not started
  EXPECT_EQ(RawValue("SELECT interval_type FROM backfill"), "DAY");
  stored.status = "running";
  stored.started_at = At(6);
  EXPECT_TRUE(store_->UpdateBackfill(stored, At(6)));
  Backfill got = *store_->GetBackfill(stored.id);
  EXPECT_EQ(got.status, "running");
  EXPECT_EQ(got.end_datetime, At(5));
  EXPECT_EQ(got.variables["k"], "v");
  EXPECT_EQ(store_->ListBackfills("etl").size(), 1u);

  b.interval_units = 0;
  EXPECT_THROW(store_->CreateBackfill(b, At(6)), StoreError);
  b.interval_units = 1;
  b.interval_type = "fortnight";
  EXPECT_THROW(store_->CreateBackfill(b, At(6)), StoreError);
  EXPECT_TRUE(store_->DeleteBackfill(stored.id));
  EXPECT_TRUE(store_->ListBackfills().empty());
}

TEST_P(MetadataStoreTest, CommittedChangesAreThereAfterReopening) {
  PipelineRun run = NewRun();
  store_->TransitionPipelineRun(run.id, {"initial"}, "running", At(1, 1));
  store_.reset();
  std::unique_ptr<MetadataStore> reopened = MetadataStore::Open(location_);
  EXPECT_EQ(reopened->GetPipelineRun(run.id)->status, "running");
  EXPECT_EQ(reopened->ListBlockRuns(run.id).size(), 3u);
}

TEST_P(MetadataStoreTest, MagesSqlalchemyUrlOpensTheSameDatabase) {
  if (GetParam() != "postgres") GTEST_SKIP() << "PostgreSQL only";
  PipelineRun run = NewRun();
  StoreLocation mage;
  mage.postgres_url = "postgresql+psycopg2://postgres:" + server_->password() +
                      "@127.0.0.1:" + std::to_string(server_->port()) + "/" + database_;
  std::unique_ptr<MetadataStore> other = MetadataStore::Open(mage);
  EXPECT_THAT(other->Describe(), HasSubstr("postgresql postgres@127.0.0.1:"));
  EXPECT_EQ(other->GetPipelineRun(run.id)->pipeline_uuid, "etl");
}

INSTANTIATE_TEST_SUITE_P(Databases, MetadataStoreTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST(StoreLocationTest, PostgresUrlsFromKilnOrMageElseASqliteFileInTheDataDir) {
  EXPECT_EQ(StoreLocationFrom({}, "/data").sqlite_path, "/data/kiln.db");
  EXPECT_EQ(
      StoreLocationFrom({{"MAGE_DATABASE_CONNECTION_URL", "postgresql+psycopg2://u@h/db"}}, "/data")
          .postgres_url,
      "postgresql+psycopg2://u@h/db");
  EXPECT_EQ(StoreLocationFrom({{"KILN_DATABASE_URL", "postgresql://a@b/c"},
                               {"MAGE_DATABASE_CONNECTION_URL", "postgresql://x@y/z"}},
                              "/data")
                .postgres_url,
            "postgresql://a@b/c");
  try {
    StoreLocationFrom({{"KILN_DATABASE_URL", "mysql://u@h/db"}}, "/data");
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("KILN_DATABASE_URL: only PostgreSQL URLs"));
    EXPECT_THAT(e.what(), HasSubstr("not 'mysql'"));
  }
}

}  // namespace
}  // namespace kiln::store
