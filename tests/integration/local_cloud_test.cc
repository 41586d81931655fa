// The local cloud stand-in (`--local-cloud DIR` / KILN_LOCAL_CLOUD=DIR) on the example project
// and the real 22,792-row sample: gs:// buckets become folders under DIR, the switch is
// announced once, and without it (and without credentials) a cloud block names what is missing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <regex>
#include <thread>

#include "support/kiln_project.h"
#include "support/kiln_server.h"

namespace kiln::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kPartitionedSql = "data_exporters/export_taxi_to_parquet_partitioned.sql";

class LocalCloudTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The example's partitioned SQL exporter, aimed at a bucket instead of a local folder.
    std::ifstream in(project_.root() / kPartitionedSql);
    std::string sql((std::istreambuf_iterator<char>(in)), {});
    sql = std::regex_replace(sql, std::regex("'\\{\\{ repo_path \\}\\}/output/nyc_taxi_data'"),
                             "'gs://mage-zoomcamp/nyc_taxi_data'");
    project_.Write(kPartitionedSql, sql);
  }
  std::string Rows(const std::filesystem::path& folder) {
    return KilnProject::Value("SELECT count(*) FROM read_parquet('" + folder.string() +
                              "/*.parquet')");
  }
  std::filesystem::path cloud() const { return project_.data_dir() / "cloud"; }

  KilnProject project_{"nyc_taxi"};
};

TEST_F(LocalCloudTest, SqlCopyToGsUriWritesHiveFoldersOf16And22286And1Rows) {
  ProcessResult r = project_.Run("api_to_parquet", {"--local-cloud", cloud().string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto dataset = cloud() / "mage-zoomcamp" / "nyc_taxi_data";
  EXPECT_EQ(Rows(dataset / "tpep_pickup_date=2020-12-31"), "16");
  EXPECT_EQ(Rows(dataset / "tpep_pickup_date=2021-01-01"), "22286");
  EXPECT_EQ(Rows(dataset / "tpep_pickup_date=2021-01-02"), "1");
  EXPECT_THAT(r.out, HasSubstr("gs://mage-zoomcamp/nyc_taxi_data (3 objects, 22,303 rows"));
  // Announced once, at start.
  const std::string line =
      "local cloud: gs:// and s3:// buckets are folders under " + cloud().string();
  ASSERT_THAT(r.err, HasSubstr(line));
  EXPECT_EQ(r.err.find(line), r.err.rfind(line));
  // Nothing is left in the staging folder.
  EXPECT_TRUE(std::filesystem::is_empty(cloud() / ".kiln-tmp"));
}

TEST_F(LocalCloudTest, EnvironmentSwitchWorksLikeTheFlagAndOverwriteReplacesTheDataset) {
  ProcessResult first = project_.Run("api_to_parquet", {"--local-cloud", cloud().string()});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  ProcessResult again = project_.Kiln({"run", project_.root().string(), "api_to_parquet",
                                       "--data-dir", project_.data_dir().string()},
                                      {{"KILN_LOCAL_CLOUD", cloud().string()}});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_THAT(again.err, HasSubstr("local cloud: gs:// and s3:// buckets are folders under"));
  // OVERWRITE true: the second run's files replace the first's; the rows are not doubled.
  EXPECT_EQ(Rows(cloud() / "mage-zoomcamp/nyc_taxi_data/tpep_pickup_date=2021-01-01"), "22286");
}

TEST_F(LocalCloudTest, WithoutTheSwitchOrCredentialsTheErrorNamesTheKeysAndTheSwitch) {
  project_.Write("io_config.yaml", "default:\n  DUCKDB_DATABASE: warehouse.duckdb\n");
  ProcessResult r = project_.Run("api_to_parquet");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.out + r.err, HasSubstr("profile 'default' has neither GOOGLE_SERVICE_ACC_KEY nor "
                                       "GOOGLE_SERVICE_ACC_KEY_FILEPATH"));
  EXPECT_THAT(r.out + r.err, HasSubstr("--local-cloud DIR / KILN_LOCAL_CLOUD=DIR"));
  EXPECT_THAT(r.err, Not(HasSubstr("local cloud:")));
}

TEST_F(LocalCloudTest, AnUnusableSwitchFolderIsRefusedBeforeAnythingRuns) {
  project_.Write("not_a_folder", "x");
  ProcessResult r = project_.Run("api_to_parquet",
                                 {"--local-cloud", (project_.root() / "not_a_folder").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--local-cloud " + (project_.root() / "not_a_folder").string()));
  EXPECT_THAT(r.out, Not(HasSubstr("load_taxi_data")));
}

// The course's parameterized exporter under a backfill (kiln start, KILN_LOCAL_CLOUD): one
// object per execution_date, each with the sample's 22,303 rows.
TEST(LocalCloudBackfillTest, BackfillWritesOneDatedObjectPerDay) {
  KilnProject project("nyc_taxi");
  const auto cloud = project.data_dir() / "cloud";
  KilnServer server(project, {}, {{"KILN_LOCAL_CLOUD", cloud.string()}});
  auto [status, body] = server.Post("/api/pipelines/api_to_gcs_parameterized/backfills",
                                    nlohmann::json{{"backfill",
                                                    {{"name", "first days"},
                                                     {"start_datetime", "2021-01-01 00:00:00"},
                                                     {"end_datetime", "2021-01-03 00:00:00"},
                                                     {"interval_type", "day"},
                                                     {"interval_units", 1}}}}
                                        .dump());
  ASSERT_EQ(status, 200) << body.dump();
  const std::string id = std::to_string(body["backfill"]["id"].get<int64_t>());
  ASSERT_EQ(server.Put("/api/backfills/" + id, {{"backfill", {{"status", "initial"}}}}).first, 200);
  nlohmann::json backfill;
  for (int i = 0; i < 1200; ++i) {
    backfill = server.Get("/api/backfills/" + id).second["backfill"];
    if (backfill["status"] == "completed" || backfill["status"] == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(backfill["status"], "completed") << server.Output();
  const auto bucket = cloud / "mage-zoomcamp-evident-display-410312";
  for (const char* day : {"2021/01/01", "2021/01/02", "2021/01/03"}) {
    EXPECT_EQ(KilnProject::Value("SELECT count(*) FROM read_parquet('" +
                                 (bucket / day / "daily-trips.parquet").string() + "')"),
              "22303")
        << day;
  }
  EXPECT_THAT(server.Output(), HasSubstr("local cloud: gs:// and s3:// buckets are folders under"));
}

TEST(LocalCloudKillTest, KilledDuringAnExportLeavesNoObject) {
  KilnProject project;
  project.Write("pipelines/big/metadata.yaml",
                "blocks:\n- uuid: export_big\n  type: data_exporter\n  language: sql\n"
                "  upstream_blocks: []\n  downstream_blocks: []\n");
  // Several seconds of writing: the kill comes while the object is still being made.
  project.Write("data_exporters/export_big.sql",
                "COPY (SELECT i, md5(i::VARCHAR) AS h FROM range(400000000) t(i))\n"
                "TO 'gs://bucket/big.parquet' (FORMAT parquet);\n");
  const auto cloud = project.data_dir() / "cloud";
  ProcessResult r = project.Kiln({"run", project.root().string(), "big", "--data-dir",
                                  project.data_dir().string(), "--local-cloud", cloud.string()},
                                 {}, SignalPlan{{std::chrono::milliseconds(1500), SIGKILL}});
  EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r.out << r.err;
  EXPECT_FALSE(std::filesystem::exists(cloud / "bucket" / "big.parquet"));
  // The kill came mid-write: the partial file is in the temp folder, never under the key.
  EXPECT_FALSE(std::filesystem::is_empty(cloud / ".kiln-tmp"));
}

}  // namespace
}  // namespace kiln::testing
