// BigQuery through the local stand-in, end to end with the real `kiln` binary and
// `--local-cloud <tmp>`: the seed's gcs_to_bigquery shape on the real sample (the loader reads
// the sample instead of GCS; transform_staged_data and the SQL exporter as in the course), the
// append policy run twice, and mage_ai.io.bigquery.BigQuery exporting then loading a table.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kiln/common/files.h"
#include "support/kiln_project.h"

namespace kiln::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The course's io_config: a key file that does not exist here (the stand-in never reads it).
constexpr const char* kIoConfig = R"(version: 0.1.1
default:
  GOOGLE_SERVICE_ACC_KEY_FILEPATH: "/home/src/evident-display-410312-3f3459224de6.json"
  GOOGLE_LOCATION: US
)";

// What load_taxi_gcs hands on in the course: the filtered sample with the CSV's column names.
constexpr const char* kLoader = R"(import pandas as pd
if 'data_loader' not in globals():
    from mage_ai.data_preparation.decorators import data_loader


@data_loader
def load(*args, **kwargs):
    df = pd.read_csv('{sample}', compression='gzip',
                     parse_dates=['tpep_pickup_datetime', 'tpep_dropoff_datetime'])
    return df[df['passenger_count'] > 0]
)";

// The seed's transformer, verbatim.
constexpr const char* kTransformStagedData = R"(if 'transformer' not in globals():
    from mage_ai.data_preparation.decorators import transformer
if 'test' not in globals():
    from mage_ai.data_preparation.decorators import test


@transformer
def transform(data, *args, **kwargs):

    data.columns = (data.columns
                    .str.replace(' ', '_')
                    .str.lower()
    )

    return data
)";

constexpr const char* kPipeline = R"(uuid: gcs_to_bigquery
name: gcs_to_bigquery
type: python
blocks:
- uuid: load_taxi_gcs
  type: data_loader
  language: python
  upstream_blocks: []
  downstream_blocks: [transform_staged_data]
- uuid: transform_staged_data
  type: transformer
  language: python
  upstream_blocks: [load_taxi_gcs]
  downstream_blocks: [write_taxi_to_bigquery]
- uuid: write_taxi_to_bigquery
  type: data_exporter
  language: sql
  upstream_blocks: [transform_staged_data]
  downstream_blocks: []
  configuration:
    data_provider: bigquery
    data_provider_profile: default
    data_provider_schema: ny_taxi
    data_provider_table: yellow_cab_data
    export_write_policy: append
)";

class BigQueryLocalCloudTest : public ::testing::Test {
 protected:
  void SetUp() override {
    project_.Write("io_config.yaml", kIoConfig);
    std::string loader = kLoader;
    loader.replace(loader.find("{sample}"), 8,
                   (TestDataDir() / "yellow_tripdata_2021-01.sample.csv.gz").string());
    project_.Write("data_loaders/load_taxi_gcs.py", loader);
    project_.Write("transformers/transform_staged_data.py", kTransformStagedData);
    project_.Write("data_exporters/write_taxi_to_bigquery.sql", "SELECT * FROM {{ df_1 }}\n");
    project_.Write("pipelines/gcs_to_bigquery/metadata.yaml", kPipeline);
  }

  ProcessResult Run(const std::string& pipeline) {
    return project_.Kiln({"run", project_.root().string(), pipeline, "--data-dir",
                          project_.data_dir().string(), "--local-cloud", cloud_.string()});
  }
  //! The first value of `sql` on the stand-in's file.
  std::string StandIn(const std::string& sql) const {
    return KilnProject::Value("ATTACH '" + (cloud_ / "bigquery.duckdb").string() +
                              "' AS bq (READ_ONLY); " + sql);
  }

  KilnProject project_;
  TempDir temp_;
  std::filesystem::path cloud_ = temp_.path() / "cloud";
};

TEST_F(BigQueryLocalCloudTest, GcsToBigQueryTableHasTheStandardisedColumnNames) {
  ProcessResult r = Run("gcs_to_bigquery");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(StandIn("SELECT count(*) FROM bq.ny_taxi.yellow_cab_data"), "22303");
  EXPECT_EQ(StandIn("SELECT string_agg(column_name, ',' ORDER BY column_index) FROM "
                    "duckdb_columns() WHERE database_name = 'bq' AND schema_name = 'ny_taxi' AND "
                    "table_name = 'yellow_cab_data' AND column_name IN ('vendorid', "
                    "'pulocationid', 'dolocationid', 'ratecodeid', 'tpep_pickup_datetime')"),
            "vendorid,tpep_pickup_datetime,ratecodeid,pulocationid,dolocationid");
  EXPECT_EQ(StandIn("SELECT count(*) FROM duckdb_columns() WHERE database_name = 'bq' AND "
                    "table_name = 'yellow_cab_data' AND column_name <> lower(column_name)"),
            "0");
  // pandas' nanoseconds arrive as BigQuery's microseconds.
  EXPECT_EQ(StandIn("SELECT data_type FROM duckdb_columns() WHERE database_name = 'bq' AND "
                    "column_name = 'tpep_pickup_datetime'"),
            "TIMESTAMP");
  EXPECT_EQ(StandIn("SELECT round(sum(total_amount), 2) FROM bq.ny_taxi.yellow_cab_data"),
            "393571.8");
  // One load job of the upstream output, no staging table beside it.
  EXPECT_EQ(StandIn("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'bq'"), "1");
  EXPECT_THAT(r.out, HasSubstr("table ny_taxi.yellow_cab_data in local BigQuery stand-in"));
  EXPECT_THAT(r.out, HasSubstr("(append, 22,303 rows, load job)"));
  // The block's output is the loaded rows, with the table's names.
  auto out = project_.OutputDir("gcs_to_bigquery", "write_taxi_to_bigquery");
  EXPECT_EQ(KilnProject::Value("SELECT count(vendorid) FROM read_parquet('" +
                               (out / "data.parquet").string() + "')"),
            "22303");
}

TEST_F(BigQueryLocalCloudTest, AppendTwiceDoublesTheRows) {
  ASSERT_EQ(Run("gcs_to_bigquery").exit_code, 0);
  ProcessResult again = Run("gcs_to_bigquery");
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(StandIn("SELECT count(*) FROM bq.ny_taxi.yellow_cab_data"), "44606");
}

TEST_F(BigQueryLocalCloudTest, FailPolicyRefusesAnExistingTableAndKeepsIt) {
  ASSERT_EQ(Run("gcs_to_bigquery").exit_code, 0);
  std::string pipeline = kPipeline;
  pipeline.replace(pipeline.find("export_write_policy: append"), 27, "export_write_policy: fail");
  project_.Write("pipelines/gcs_to_bigquery/metadata.yaml", pipeline);
  ProcessResult r = Run("gcs_to_bigquery");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("table local.ny_taxi.yellow_cab_data already exists and "
                               "export_write_policy is 'fail'"));
  EXPECT_EQ(StandIn("SELECT count(*) FROM bq.ny_taxi.yellow_cab_data"), "22303");
}

TEST_F(BigQueryLocalCloudTest, QueryBlockWritesItsResultAndReadsItBack) {
  ASSERT_EQ(Run("gcs_to_bigquery").exit_code, 0);
  // A transform in the warehouse, with the backticked names BigQuery users write.
  project_.Write("data_loaders/zones.sql",
                 "-- `p.ny_taxi.not_this` in a comment stays\n"
                 "SELECT pulocationid, count(*) AS trips, 'a `quoted` text' AS note\n"
                 "FROM `evident-display-410312.ny_taxi.yellow_cab_data`\n"
                 "GROUP BY pulocationid ORDER BY trips DESC\n");
  project_.Write("pipelines/zones/metadata.yaml", R"(uuid: zones
name: zones
type: python
blocks:
- uuid: zones
  type: data_loader
  language: sql
  upstream_blocks: []
  downstream_blocks: []
  configuration:
    data_provider: bigquery
    data_provider_profile: default
    data_provider_schema: ny_taxi
    data_provider_table: trips_by_zone
    export_write_policy: replace
    limit_in_pipeline_run: 5
)");
  ProcessResult r = Run("zones");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(StandIn("SELECT sum(trips) FROM bq.ny_taxi.trips_by_zone"), "22303");
  EXPECT_EQ(StandIn("SELECT DISTINCT note FROM bq.ny_taxi.trips_by_zone"), "a `quoted` text");
  auto out = project_.OutputDir("zones", "zones");
  EXPECT_EQ(KilnProject::Value("SELECT count(*) FROM read_parquet('" +
                               (out / "data.parquet").string() + "')"),
            "5");
}

TEST_F(BigQueryLocalCloudTest, EveryNamedUpstreamIsUploadedThenTheQueryJoinsThem) {
  project_.Write("data_loaders/zones.py", R"(import pandas as pd
@data_loader
def load(*args, **kwargs):
    return pd.DataFrame({'zone id': [1, 2, 3], 'borough': ['Bronx', 'Queens', 'EWR']})
)");
  project_.Write("data_loaders/trips.py", R"(import pandas as pd
@data_loader
def load(*args, **kwargs):
    df = pd.DataFrame({'zone': [1, 1, 2, 3, 3, 3]})
    return df[df['zone'] > 1]
)");
  project_.Write("transformers/join.sql",
                 "SELECT z.borough, count(*) AS trips FROM {{ df_1 }} AS t\n"
                 "JOIN {{ df_2 }} AS z ON z.zone_id = t.zone GROUP BY 1 ORDER BY 1\n");
  project_.Write("pipelines/joined/metadata.yaml", R"(uuid: joined
blocks:
- {uuid: trips, type: data_loader, language: python, downstream_blocks: [join]}
- {uuid: zones, type: data_loader, language: python, downstream_blocks: [join]}
- uuid: join
  type: transformer
  language: sql
  upstream_blocks: [trips, zones]
  configuration: {data_provider: bigquery, data_provider_schema: staging}
)");
  ProcessResult r = Run("joined");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // Mage's names: <pipeline>_<block>_v1 with dev_ in front for CLI runs.
  EXPECT_EQ(StandIn("SELECT count(*) FROM bq.staging.dev_joined_trips_v1"), "4");
  EXPECT_EQ(StandIn("SELECT string_agg(borough || ':' || trips, ',' ORDER BY borough) FROM "
                    "bq.staging.dev_joined_join_v1"),
            "EWR:3,Queens:1");
  EXPECT_EQ(StandIn("SELECT count(*) FROM duckdb_columns() WHERE database_name = 'bq' AND "
                    "column_name = '__index_level_0__'"),
            "0");
}

TEST_F(BigQueryLocalCloudTest, RawSqlRunsEachStatementAndReadsTheLastSelect) {
  project_.Write(
      "data_loaders/raw.sql",
      "CREATE SCHEMA IF NOT EXISTS scratch;\n"
      "CREATE OR REPLACE TABLE `evident-display-410312.scratch.nums` AS SELECT 42 AS n;\n"
      "SELECT n + 1 AS m FROM scratch.nums;\n");
  project_.Write("pipelines/raw/metadata.yaml", R"(uuid: raw
blocks:
- uuid: raw
  type: data_loader
  language: sql
  configuration: {data_provider: bigquery, data_provider_schema: scratch, use_raw_sql: true}
)");
  ProcessResult r = Run("raw");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(StandIn("SELECT n FROM bq.scratch.nums"), "42");
  auto out = project_.OutputDir("raw", "raw");
  EXPECT_EQ(
      KilnProject::Value("SELECT m FROM read_parquet('" + (out / "data.parquet").string() + "')"),
      "43");
}

TEST_F(BigQueryLocalCloudTest, WithoutTheSwitchTheBlockFailsNamingIt) {
  ProcessResult r = project_.Kiln({"run", project_.root().string(), "gcs_to_bigquery", "--data-dir",
                                   project_.data_dir().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("block 'write_taxi_to_bigquery'"));
  EXPECT_THAT(r.out, HasSubstr("cannot read /home/src/evident-display-410312-3f3459224de6.json"));
  EXPECT_THAT(r.out, HasSubstr("--local-cloud DIR / KILN_LOCAL_CLOUD=DIR"));
}

TEST_F(BigQueryLocalCloudTest, PythonBigQueryExportThenLoadRoundTrips) {
  project_.Write("data_exporters/to_bq.py", R"(import pandas as pd
from os import path
from mage_ai.settings.repo import get_repo_path
from mage_ai.io.bigquery import BigQuery
from mage_ai.io.config import ConfigFileLoader
if 'data_exporter' not in globals():
    from mage_ai.data_preparation.decorators import data_exporter


@data_exporter
def export_data(*args, **kwargs):
    config = ConfigFileLoader(path.join(get_repo_path(), 'io_config.yaml'), 'default')
    bq = BigQuery.with_config(config)
    df = pd.DataFrame({'Vendor ID': [1, 2, 2], 'fare': [1.5, 2.5, None]},
                      index=[10, 11, 12])
    bq.export(df, 'evident-display-410312.trips.fares', if_exists='replace')
    bq.export(df.head(1), 'trips.fares', if_exists='append')
    try:
        bq.export(df, 'trips.fares', if_exists='fail')
    except Exception as e:
        print('fail policy:', e)
    back = bq.load('SELECT * FROM `trips.fares` ORDER BY Vendor_ID, fare', limit=3)
    print('columns:', list(back.columns))
    print('rows:', len(back), 'sum:', back['fare'].sum())
    print('project:', bq.default_database())
    try:
        bq.client
    except AttributeError as e:
        print('client:', e)
)");
  project_.Write("pipelines/py_bq/metadata.yaml", R"(uuid: py_bq
name: py_bq
type: python
blocks:
- {uuid: to_bq, type: data_exporter, language: python}
)");
  ProcessResult r = Run("py_bq");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string log = ReadFile(project_.data_dir() / "pipelines/py_bq/.logs/to_bq.log");
  EXPECT_THAT(log, HasSubstr("columns: ['Vendor_ID', 'fare']"));
  EXPECT_THAT(log, HasSubstr("rows: 3 sum: 5.5"));
  EXPECT_THAT(log, HasSubstr("fail policy:"));
  EXPECT_THAT(log, HasSubstr("client: BigQuery.client: Kiln has no google-cloud-bigquery client; "
                             "it offers with_config"));
  EXPECT_THAT(log, HasSubstr("project: local"));
  EXPECT_THAT(log, HasSubstr("already exists"));
  EXPECT_EQ(StandIn("SELECT count(*) FROM bq.trips.fares"), "4");
  EXPECT_THAT(r.out, HasSubstr("table trips.fares in local BigQuery stand-in"));
  EXPECT_THAT(log, Not(HasSubstr("__index_level_0__")));
}

TEST_F(BigQueryLocalCloudTest, WithConfigWithoutKeysOnlyWarnsInTheStandIn) {
  project_.Write("io_config.yaml", "version: 0.1.1\ndefault:\n  GOOGLE_LOCATION: US\n");
  project_.Write("data_exporters/to_bq.py", R"(import pandas as pd
from mage_ai.io.bigquery import BigQuery
from mage_ai.io.config import ConfigFileLoader
if 'data_exporter' not in globals():
    from mage_ai.data_preparation.decorators import data_exporter


@data_exporter
def export_data(*args, **kwargs):
    bq = BigQuery.with_config(ConfigFileLoader(profile='default'))
    bq.export(pd.DataFrame({'a': [1]}), 'd.t')
)");
  project_.Write("pipelines/py_bq/metadata.yaml",
                 "uuid: py_bq\nblocks:\n- {uuid: to_bq, type: data_exporter, language: python}\n");
  ProcessResult r = Run("py_bq");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(ReadFile(project_.data_dir() / "pipelines/py_bq/.logs/to_bq.log"),
              HasSubstr("without --local-cloud this block would fail"));
  EXPECT_EQ(StandIn("SELECT count(*) FROM bq.d.t"), "1");
  // Without the switch it is Mage's ValueError.
  ProcessResult real = project_.Kiln(
      {"run", project_.root().string(), "py_bq", "--data-dir", project_.data_dir().string()});
  EXPECT_EQ(real.exit_code, 1);
  EXPECT_THAT(real.out, HasSubstr("ValueError: No valid configuration settings found for Google "
                                  "BigQuery."));
}

}  // namespace
}  // namespace kiln::testing
