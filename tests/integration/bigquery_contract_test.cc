// Contract tests of Kiln's BigQuery REST client against tests/support/fake_bigquery, a loopback
// server written from Google's documentation that refuses requests in any other form. These are
// not tests against the live service (tests/live/ runs the same exchanges there).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "kiln/common/files.h"
#include "kiln/connectors/bigquery/bigquery_warehouse.h"
#include "kiln/data/engine.h"
#include "support/fake_bigquery.h"
#include "support/kiln_project.h"

namespace kiln::testing {
namespace {

using connectors::ExportWritePolicy;
using connectors::TableRef;
using connectors::WarehouseError;
using connectors::bigquery::BigQueryWarehouse;
using connectors::bigquery::Client;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class BigQueryContractTest : public ::testing::Test {
 protected:
  std::unique_ptr<BigQueryWarehouse> EmulatorWarehouse(FakeBigQuery& fake,
                                                       const std::string& location = "US") {
    connectors::HttpOptions http;
    http.retry.initial_backoff = std::chrono::milliseconds(10);
    auto client = std::make_unique<Client>(
        connectors::bigquery::EndpointFor(fake.root()), "proj", location,
        [this](bool refresh) {
          tokens_ += refresh ? 100 : 1;
          return std::string("test-token");
        },
        http);
    // EndpointFor(url) is the BIGQUERY_EMULATOR_HOST form: the token callback is never used.
    return std::make_unique<BigQueryWarehouse>(std::move(client), "kiln_p_b");
  }
  std::unique_ptr<BigQueryWarehouse> Authorised(FakeBigQuery& fake) {
    connectors::HttpOptions http;
    http.retry.initial_backoff = std::chrono::milliseconds(10);
    connectors::bigquery::Endpoint endpoint{fake.root(), false};
    auto client = std::make_unique<Client>(
        endpoint, "proj", "US",
        [this](bool refresh) {
          tokens_ += refresh ? 100 : 1;
          return std::string("test-token");
        },
        http);
    return std::make_unique<BigQueryWarehouse>(std::move(client), "kiln_p_b");
  }
  std::filesystem::path Parquet(uint64_t bytes) {
    auto path = temp_.path() / ("f" + std::to_string(bytes) + ".parquet");
    WriteFileAtomic(path, std::string(bytes, 'x'));  // the fake does not read Parquet
    return path;
  }
  static std::vector<FakeBigQuery::Request> Matching(const std::vector<FakeBigQuery::Request>& all,
                                                     const std::string& method,
                                                     const std::string& path_part) {
    std::vector<FakeBigQuery::Request> out;
    for (const auto& r : all)
      if (r.method == method && r.path.find(path_part) != std::string::npos) out.push_back(r);
    return out;
  }

  TempDir temp_;
  std::atomic<int> tokens_{0};
};

TEST_F(BigQueryContractTest, LoadJobCarriesParquetDestinationAndDisposition) {
  FakeBigQuery fake;
  fake.SetLoadRows(22303);
  fake.SetPollsBeforeDone(2);
  auto wh = Authorised(fake);
  auto file = Parquet(600 * 1024);  // three chunks of 256 KiB multiples at most
  uint64_t rows = wh->LoadParquet(TableRef{"proj", "ny_taxi", "yellow_cab_data"}, file,
                                  ExportWritePolicy::kAppend, {});
  EXPECT_EQ(rows, 22303u);
  EXPECT_THAT(fake.refusals(), IsEmpty());
  auto jobs = fake.jobs();
  ASSERT_EQ(jobs.size(), 1u);
  const json& job = jobs.begin()->second;
  EXPECT_THAT(jobs.begin()->first, ::testing::StartsWith("kiln_p_b_"));
  EXPECT_EQ(job["jobReference"]["location"], "US");
  const json& load = job["configuration"]["load"];
  EXPECT_EQ(load["sourceFormat"], "PARQUET");
  EXPECT_EQ(load["writeDisposition"], "WRITE_APPEND");
  EXPECT_EQ(load["createDisposition"], "CREATE_IF_NEEDED");
  EXPECT_EQ(
      load["destinationTable"],
      json({{"projectId", "proj"}, {"datasetId", "ny_taxi"}, {"tableId", "yellow_cab_data"}}));
  EXPECT_EQ(fake.uploads().begin()->second, ReadFile(file));  // every byte, in order
  for (const auto& r : fake.requests()) EXPECT_EQ(r.authorization, "Bearer test-token");
}

TEST_F(BigQueryContractTest, LargeLoadIsSentInChunksOf256KiBMultiplesThenFinished) {
  FakeBigQuery fake;
  connectors::bigquery::Endpoint endpoint{fake.root(), false};
  Client client(endpoint, "proj", "", [](bool) { return std::string("test-token"); }, {});
  auto file = Parquet(600 * 1024);
  json job = {
      {"jobReference", {{"projectId", "proj"}, {"jobId", "kiln_chunks"}}},
      {"configuration",
       {{"load",
         {{"sourceFormat", "PARQUET"},
          {"destinationTable", {{"projectId", "proj"}, {"datasetId", "d"}, {"tableId", "t"}}}}}}}};
  json done = client.InsertUploadJob(job, file, {}, 256 * 1024);
  EXPECT_EQ(done["jobReference"]["jobId"], "kiln_chunks");
  std::vector<std::string> ranges;
  for (const auto& r : Matching(fake.requests(), "PUT", "/upload/"))
    ranges.push_back(r.content_range);
  EXPECT_EQ(ranges, (std::vector<std::string>{"bytes 0-262143/614400", "bytes 262144-524287/614400",
                                              "bytes 524288-614399/614400"}));
  EXPECT_EQ(fake.uploads()["kiln_chunks"], ReadFile(file));
  EXPECT_THAT(fake.refusals(), IsEmpty());
}

TEST_F(BigQueryContractTest, UploadThatNeverAdvancesGivesUpInsteadOfLooping) {
  FakeBigQuery fake;
  fake.SetUploadsKeepNothing(true);
  connectors::bigquery::Endpoint endpoint{fake.root(), false};
  Client client(endpoint, "proj", "", [](bool) { return std::string("test-token"); }, {});
  auto file = Parquet(600 * 1024);
  json job = {
      {"jobReference", {{"projectId", "proj"}, {"jobId", "kiln_stuck"}}},
      {"configuration",
       {{"load",
         {{"sourceFormat", "PARQUET"},
          {"destinationTable", {{"projectId", "proj"}, {"datasetId", "d"}, {"tableId", "t"}}}}}}}};
  try {
    client.InsertUploadJob(job, file, {}, 256 * 1024);
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_THAT(e.what(), HasSubstr("kiln_stuck"));
  }
  // Four tries of the first chunk, then an error: never a job.
  EXPECT_EQ(Matching(fake.requests(), "PUT", "/upload/").size(), 4u);
  EXPECT_TRUE(fake.jobs().empty());
}

TEST_F(BigQueryContractTest, EachPolicyMapsToItsWriteDisposition) {
  FakeBigQuery fake;
  auto wh = Authorised(fake);
  auto file = Parquet(10);
  TableRef t{"proj", "d", "t"};
  wh->LoadParquet(t, file, ExportWritePolicy::kReplace, {});
  wh->LoadParquet(t, file, ExportWritePolicy::kAppend, {});
  wh->Run("SELECT 1", TableRef{"proj", "d", "new"}, ExportWritePolicy::kFail, {});
  std::vector<std::string> seen;
  for (const auto& [id, job] : fake.jobs()) {
    const json& c = job["configuration"];
    seen.push_back((c.contains("load") ? c["load"] : c["query"])["writeDisposition"]);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"WRITE_APPEND", "WRITE_EMPTY", "WRITE_TRUNCATE"}));
  // fail on an existing table is refused before any job starts.
  try {
    wh->LoadParquet(t, file, ExportWritePolicy::kFail, {});
    FAIL() << "fail loaded into an existing table";
  } catch (const WarehouseError& e) {
    EXPECT_THAT(e.what(), HasSubstr("load into proj.d.t refused: the table exists"));
  }
  EXPECT_EQ(fake.jobs().size(), 3u);
  EXPECT_THAT(fake.refusals(), IsEmpty());
}

TEST_F(BigQueryContractTest, DatasetCreatedWhenMissingConflictIgnored) {
  FakeBigQuery fake;
  fake.AddDataset("proj", "existing");
  auto wh = Authorised(fake);
  wh->EnsureDataset("ny_taxi");
  wh->EnsureDataset("existing");  // 409 ALREADY_EXISTS is success
  auto posts = Matching(fake.requests(), "POST", "/datasets");
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[0].body,
            json({{"datasetReference", {{"projectId", "proj"}, {"datasetId", "ny_taxi"}}},
                  {"location", "US"}}));
  EXPECT_THAT(fake.refusals(), IsEmpty());
}

TEST_F(BigQueryContractTest, QueryResultsArePagedByPageToken) {
  FakeBigQuery fake;
  json rows = json::array();
  for (int i = 0; i < 25; ++i)
    rows.push_back({{"f", {{{"v", std::to_string(i)}}, {{"v", i % 2 ? json() : json("x")}}}}});
  fake.SetQueryResult(
      {{"fields", {{{"name", "n"}, {"type", "INTEGER"}}, {{"name", "s"}, {"type", "STRING"}}}}},
      rows, 10);
  fake.SetPollsBeforeDone(1);
  auto wh = Authorised(fake);
  data::Engine engine(data::Engine::Options{});
  auto duck = engine.Connect();
  EXPECT_EQ(wh->Read("SELECT * FROM `proj.d.t`;", 100, *duck, "memory.main.r", {}), 25u);
  EXPECT_EQ(duck->Query("SELECT sum(n) FROM memory.main.r").GetInt64(0, 0), 300);
  EXPECT_EQ(duck->Query("SELECT count(s) FROM memory.main.r").GetInt64(0, 0), 13);
  auto pages = Matching(fake.requests(), "GET", "/queries/");
  std::vector<std::string> tokens;
  for (const auto& p : pages) {
    auto it = p.params.find("pageToken");
    tokens.push_back(it == p.params.end() ? "" : it->second);
    auto ts = p.params.find("formatOptions.useInt64Timestamp");
    ASSERT_NE(ts, p.params.end());
    EXPECT_EQ(ts->second, "true");
  }
  EXPECT_EQ(tokens, (std::vector<std::string>{"", "", "10", "20"}));  // a wait, then 3 pages
  auto job = fake.jobs().begin()->second;
  EXPECT_EQ(job["configuration"]["query"]["query"],
            "SELECT * FROM (\nSELECT * FROM `proj.d.t`\n) AS subquery LIMIT 100");
  EXPECT_THAT(fake.refusals(), IsEmpty());
}

TEST_F(BigQueryContractTest, JobErrorResultNamesReasonAndLocation) {
  FakeBigQuery fake;
  fake.FailNextJob({{"reason", "invalid"},
                    {"location", "gs://x/part-0.parquet"},
                    {"message", "Error while reading data, error message: bad magic"}});
  auto wh = Authorised(fake);
  try {
    wh->LoadParquet(TableRef{"proj", "ny_taxi", "yellow_cab_data"}, Parquet(10),
                    ExportWritePolicy::kAppend, {});
    FAIL() << "a failed job succeeded";
  } catch (const WarehouseError& e) {
    EXPECT_THAT(e.what(),
                ::testing::MatchesRegex(
                    "BigQuery job kiln_p_b_[0-9a-f]{12} \\(load into "
                    "proj.ny_taxi.yellow_cab_data\\) failed: invalid: Error while "
                    "reading data, error message: bad magic \\(gs://x/part-0.parquet\\)"));
  }
}

TEST_F(BigQueryContractTest, RetriedInsertReusesTheJobId) {
  FakeBigQuery fake;
  fake.LoseNextInsertAnswer();  // the job is created, the answer is a 503
  auto wh = Authorised(fake);
  wh->Run("DELETE FROM d.t WHERE true", std::nullopt, ExportWritePolicy::kAppend, {});
  auto inserts = Matching(fake.requests(), "POST", "/jobs");
  ASSERT_EQ(inserts.size(), 2u);
  EXPECT_EQ(inserts[0].body["jobReference"]["jobId"], inserts[1].body["jobReference"]["jobId"]);
  EXPECT_EQ(fake.jobs().size(), 1u);  // one job, never two
}

TEST_F(BigQueryContractTest, TimeoutCancelsTheRunningJob) {
  FakeBigQuery fake;
  fake.SetJobsNeverFinish(true);
  auto wh = Authorised(fake);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  try {
    wh->LoadParquet(TableRef{"proj", "d", "t"}, Parquet(10), ExportWritePolicy::kReplace,
                    [&] { return std::chrono::steady_clock::now() > deadline; });
    FAIL() << "a never-finishing job returned";
  } catch (const WarehouseError& e) {
    EXPECT_THAT(e.what(), HasSubstr("was cancelled"));
  }
  auto cancels = Matching(fake.requests(), "POST", "/cancel");
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].path,
            "/bigquery/v2/projects/proj/jobs/" + fake.jobs().begin()->first + "/cancel");
  EXPECT_EQ(cancels[0].params.find("location")->second, "US");
}

TEST_F(BigQueryContractTest, Unauthorized401RefreshesTheTokenOnce) {
  FakeBigQuery fake(/*emulator=*/false, "fresh-token");
  int asked = 0, refreshed = 0;
  Client client(connectors::bigquery::Endpoint{fake.root(), false}, "proj", "",
                [&](bool refresh) {
                  ++asked;
                  refreshed += refresh;
                  return std::string(refresh ? "fresh-token" : "expired-token");
                },
                {});
  client.CreateDataset("d");
  EXPECT_EQ(asked, 2);
  EXPECT_EQ(refreshed, 1);
  auto posts = Matching(fake.requests(), "POST", "/datasets");
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[1].authorization, "Bearer fresh-token");
}

TEST_F(BigQueryContractTest, BigqueryEmulatorHostSendsNoAuthorization) {
  FakeBigQuery fake(/*emulator=*/true);
  auto wh = EmulatorWarehouse(fake);  // EndpointFor("http://127.0.0.1:port"): the emulator form
  wh->EnsureDataset("d");
  wh->LoadParquet(TableRef{"proj", "d", "t"}, Parquet(10), ExportWritePolicy::kReplace, {});
  EXPECT_EQ(tokens_.load(), 0);
  for (const auto& r : fake.requests()) EXPECT_EQ(r.authorization, "");
  EXPECT_THAT(fake.refusals(), IsEmpty());
  EXPECT_EQ(connectors::bigquery::EndpointFor("localhost:9050").root, "http://localhost:9050");
}

TEST_F(BigQueryContractTest, SqlBlockPassThroughIsOneLoadJob) {
  FakeBigQuery fake(/*emulator=*/true);
  fake.SetLoadRows(3);
  KilnProject project;
  project.Write("io_config.yaml", "default:\n  GOOGLE_SERVICE_ACC_KEY_FILEPATH: /nowhere.json\n");
  project.Write("data_loaders/src.sql",
                "SELECT 1 AS \"Vendor ID\" UNION ALL SELECT 2 UNION ALL SELECT 3\n");
  project.Write("data_exporters/to_bq.sql", "SELECT * FROM {{ df_1 }}\n");
  project.Write("pipelines/p/metadata.yaml", R"(uuid: p
blocks:
- {uuid: src, type: data_loader, language: sql, downstream_blocks: [to_bq]}
- uuid: to_bq
  type: data_exporter
  language: sql
  upstream_blocks: [src]
  configuration:
    data_provider: bigquery
    data_provider_database: proj
    data_provider_schema: ny_taxi
    data_provider_table: yellow_cab_data
    export_write_policy: append
)");
  ProcessResult r =
      project.Kiln({"run", project.root().string(), "p", "--data-dir", project.data_dir().string()},
                   {{"BIGQUERY_EMULATOR_HOST", fake.root()}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto jobs = fake.jobs();
  ASSERT_EQ(jobs.size(), 1u);  // no staging table, no query job
  EXPECT_THAT(jobs.begin()->first, ::testing::MatchesRegex("kiln_p_to_bq_[0-9a-f]{12}"));
  EXPECT_EQ(jobs.begin()->second["configuration"]["load"]["destinationTable"]["tableId"],
            "yellow_cab_data");
  EXPECT_EQ(
      KilnProject::Value("SELECT string_agg(name, ',') FROM parquet_schema('" +
                         (temp_.Write("load.parquet", fake.uploads().begin()->second)).string() +
                         "') WHERE name <> 'duckdb_schema'"),
      "Vendor_ID");
  EXPECT_THAT(r.out, HasSubstr("BigQuery table ny_taxi.yellow_cab_data in BigQuery project proj "
                               "(append, 3 rows, load job)"));
  EXPECT_THAT(fake.refusals(), IsEmpty());
}

TEST_F(BigQueryContractTest, PythonBigQueryExportsByLoadJobAndLoadsPagedResults) {
  FakeBigQuery fake(/*emulator=*/true);
  fake.SetLoadRows(2);
  fake.SetQueryResult({{"fields",
                        {{{"name", "n"}, {"type", "INTEGER"}},
                         {{"name", "at"}, {"type", "TIMESTAMP"}},
                         {{"name", "s"}, {"type", "STRING"}}}}},
                      {{{"f", {{{"v", "1"}}, {{"v", "1609460156000000"}}, {{"v", "a"}}}}},
                       {{"f", {{{"v", "2"}}, {{"v", nullptr}}, {{"v", nullptr}}}}}},
                      1);
  KilnProject project;
  project.Write("data_exporters/py.py", R"(import pandas as pd
from mage_ai.io.bigquery import BigQuery
if 'data_exporter' not in globals():
    from mage_ai.data_preparation.decorators import data_exporter


@data_exporter
def export_data(*args, **kwargs):
    bq = BigQuery(project='proj', location='EU')
    bq.export(pd.DataFrame({'a b': [1, 2]}), 'ds.t', if_exists='append')
    df = bq.load('SELECT * FROM ds.t', limit=5)
    print('loaded', len(df), list(df.columns), str(df['at'].iloc[0]), df['s'].isna().sum())
)");
  project.Write("pipelines/p/metadata.yaml",
                "uuid: p\nblocks:\n- {uuid: py, type: data_exporter, language: python}\n");
  ProcessResult r =
      project.Kiln({"run", project.root().string(), "p", "--data-dir", project.data_dir().string()},
                   {{"BIGQUERY_EMULATOR_HOST", fake.root()}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(ReadFile(project.data_dir() / "pipelines/p/.logs/py.log"),
              HasSubstr("loaded 2 ['n', 'at', 's'] 2021-01-01 00:15:56+00:00 1"));
  std::map<std::string, std::string> kinds;
  for (const auto& [id, job] : fake.jobs()) {
    kinds[job["configuration"].contains("load") ? "load" : "query"] = id;
    EXPECT_EQ(job["jobReference"]["location"], "EU");
  }
  ASSERT_EQ(kinds.size(), 2u);
  EXPECT_EQ(fake.jobs()[kinds["load"]]["configuration"]["load"]["writeDisposition"],
            "WRITE_APPEND");
  EXPECT_EQ(KilnProject::Value("SELECT string_agg(name, ',') FROM parquet_schema('" +
                               temp_.Write("py.parquet", fake.uploads()[kinds["load"]]).string() +
                               "') WHERE name <> 'duckdb_schema'"),
            "a_b");
  EXPECT_THAT(r.out, HasSubstr("BigQuery table ds.t in BigQuery project proj (append, 2 rows)"));
  EXPECT_THAT(fake.refusals(), IsEmpty());
}

}  // namespace
}  // namespace kiln::testing
