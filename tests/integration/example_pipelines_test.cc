// The example project's pipelines on the real 22,792-row sample: what `make run` shows users.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/kiln_project.h"

namespace kiln::testing {
namespace {

using ::testing::HasSubstr;

class ExamplePipelinesTest : public ::testing::Test {
 protected:
  KilnProject project_{"nyc_taxi"};
};

TEST_F(ExamplePipelinesTest, ApiToWarehouseLoads22792RowsAndExports22303WithTheRightTotal) {
  ProcessResult r = project_.Run("api_to_warehouse", {"--execution-date", "2021-01-01"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("Pipeline api_to_warehouse completed"));
  EXPECT_THAT(r.out, HasSubstr("22,792"));
  EXPECT_THAT(r.out, HasSubstr("table ny_taxi.yellow_taxi_data (replace, 22,303 rows)"));

  EXPECT_EQ(project_.WarehouseValue("SELECT count(*) FROM ny_taxi.yellow_taxi_data"), "22303");
  EXPECT_EQ(project_.WarehouseValue(
                "SELECT round(sum(total_amount), 2)::DECIMAL(12,2) FROM ny_taxi.yellow_taxi_data"),
            "393571.80");
  EXPECT_EQ(project_.WarehouseValue(
                "SELECT count(*) FROM ny_taxi.yellow_taxi_data WHERE passenger_count = 0"),
            "0");
  // Every value arrives unchanged (timestamps as timestamps): the table is exactly the sample's
  // rows with passengers.
  std::string sample = (project_.root() / "data/yellow_tripdata_2021-01.sample.csv.gz").string();
  EXPECT_EQ(project_.WarehouseValue("SELECT count(*) FROM (SELECT * FROM read_csv('" + sample +
                                    "') WHERE passenger_count > 0 EXCEPT ALL SELECT * FROM "
                                    "ny_taxi.yellow_taxi_data)"),
            "0");
  EXPECT_EQ(
      project_.WarehouseValue("SELECT min(tpep_pickup_datetime) FROM ny_taxi.yellow_taxi_data"),
      "2020-12-31 13:44:02");
}

TEST_F(ExamplePipelinesTest, BlockOutputsAreStoredAsParquetInMagesVariablesLayout) {
  ProcessResult r = project_.Run("api_to_warehouse");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto load = project_.OutputDir("api_to_warehouse", "load_taxi_data");
  auto transform = project_.OutputDir("api_to_warehouse", "transform_taxi_data");
  EXPECT_EQ(KilnProject::Value("SELECT count(*) FROM read_parquet('" +
                               (load / "data.parquet").string() + "')"),
            "22792");
  EXPECT_EQ(KilnProject::Value("SELECT count(*) FROM read_parquet('" +
                               (transform / "data.parquet").string() + "')"),
            "22303");
  EXPECT_EQ(KilnProject::Value("SELECT count(*) FROM read_parquet('" +
                               (transform / "sample_data.parquet").string() + "')"),
            "1000");
  EXPECT_EQ(Slurp(transform / "type.json"), R"({"type":"dataframe"})");
  EXPECT_THAT(Slurp(transform / "data_column_types.json"),
              HasSubstr(R"("passenger_count":"Int64")"));
  EXPECT_THAT(Slurp(transform / "data_column_types.json"),
              HasSubstr(R"("tpep_pickup_datetime":"datetime64[ns]")"));
  EXPECT_EQ(Slurp(transform / "statistics.json"),
            R"({"original_row_count":22303,"original_column_count":18})");
  // No temporary output folders are left behind.
  for (const auto& e : std::filesystem::directory_iterator(transform.parent_path()))
    EXPECT_EQ(e.path().filename(), "output_0");
}

TEST_F(ExamplePipelinesTest, BlockLogsAreWrittenInMagesLogLayout) {
  ProcessResult r = project_.Run("api_to_warehouse");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto logs = project_.data_dir() / "pipelines/api_to_warehouse/.logs";
  std::string export_log = Slurp(logs / "export_taxi_to_warehouse.log");
  EXPECT_THAT(export_log, HasSubstr(R"("block_uuid":"export_taxi_to_warehouse")"));
  EXPECT_THAT(export_log, HasSubstr("exported to warehouse"));
  EXPECT_THAT(Slurp(logs / "pipeline.log"), HasSubstr("pipeline run completed"));
}

TEST_F(ExamplePipelinesTest, ReRunWithReplaceDoesNotDuplicateRows) {
  ASSERT_EQ(project_.Run("api_to_warehouse").exit_code, 0);
  ProcessResult again = project_.Run("api_to_warehouse");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(project_.WarehouseValue("SELECT count(*) FROM ny_taxi.yellow_taxi_data"), "22303");
}

TEST_F(ExamplePipelinesTest, ApiToParquetWritesOneFileAndThreeDatePartitions) {
  ProcessResult r = project_.Run("api_to_parquet");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto out = project_.root() / "output";
  EXPECT_EQ(KilnProject::Value("SELECT count(*) FROM read_parquet('" +
                               (out / "nyc_taxi_data.parquet").string() + "')"),
            "22303");
  auto count_in = [&](const std::string& day) {
    return KilnProject::Value(
        "SELECT count(*) FROM read_parquet('" +
        (out / "nyc_taxi_data" / ("tpep_pickup_date=" + day) / "*.parquet").string() + "')");
  };
  EXPECT_EQ(count_in("2020-12-31"), "16");
  EXPECT_EQ(count_in("2021-01-01"), "22286");
  EXPECT_EQ(count_in("2021-01-02"), "1");
  size_t partitions = 0;
  for (const auto& e : std::filesystem::directory_iterator(out / "nyc_taxi_data"))
    partitions += e.is_directory();
  EXPECT_EQ(partitions, 3u);
  // A re-run replaces the partitions instead of adding files.
  ASSERT_EQ(project_.Run("api_to_parquet").exit_code, 0);
  EXPECT_EQ(count_in("2021-01-01"), "22286");
}

TEST_F(ExamplePipelinesTest, RuntimeVariableOverridesThePipelineVariable) {
  project_.Write("data/other.csv", "VendorID,passenger_count,total_amount\n1,1,10.5\n2,0,3\n");
  ProcessResult r =
      project_.Run("api_to_warehouse", {"--runtime-vars", R"({"source_url": "data/other.csv"})"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(project_.WarehouseValue("SELECT count(*) FROM ny_taxi.yellow_taxi_data"), "1");
}

// The course's cloud pipelines as `make run` runs them: offline, with the local stand-in.
TEST_F(ExamplePipelinesTest, CloudPipelinesRunOfflineWithTheLocalStandIn) {
  const std::filesystem::path cloud = project_.data_dir() / "cloud";
  for (const char* pipeline :
       {"api_to_gcs", "api_to_gcs_partitioned", "gcs_to_bigquery", "api_to_gcs_parameterized"}) {
    ProcessResult r =
        project_.Run(pipeline, {"--execution-date", "2021-01-01", "--local-cloud", cloud.string()});
    ASSERT_EQ(r.exit_code, 0) << pipeline << r.out << r.err;
  }
  const std::filesystem::path bucket = cloud / "mage-zoomcamp-evident-display-410312";
  auto rows = [](const std::filesystem::path& glob) {
    return KilnProject::Value("SELECT count(*) FROM read_parquet('" + glob.string() +
                              "', hive_partitioning = false)");
  };
  EXPECT_EQ(rows(bucket / "nyc_taxi_data.parquet"), "22303");
  EXPECT_EQ(rows(bucket / "nyc_taxi_data/tpep_pickup_date=2020-12-31/*.parquet"), "16");
  EXPECT_EQ(rows(bucket / "nyc_taxi_data/tpep_pickup_date=2021-01-01/*.parquet"), "22286");
  EXPECT_EQ(rows(bucket / "nyc_taxi_data/tpep_pickup_date=2021-01-02/*.parquet"), "1");
  EXPECT_EQ(rows(bucket / "2021/01/01/daily-trips.parquet"), "22303");
  const std::string bigquery =
      "ATTACH '" + (cloud / "bigquery.duckdb").string() + "' AS bq (READ_ONLY); ";
  EXPECT_EQ(KilnProject::Value(bigquery + "SELECT count(*) FROM bq.ny_taxi.yellow_cab_data"),
            "22303");
  EXPECT_EQ(KilnProject::Value(bigquery + "SELECT round(sum(total_amount), 2)::DECIMAL(12,2) FROM "
                                          "bq.ny_taxi.yellow_cab_data"),
            "393571.80");
  EXPECT_EQ(
      KilnProject::Value(bigquery + "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM "
                                    "(DESCRIBE bq.ny_taxi.yellow_cab_data) WHERE column_name IN "
                                    "('vendorid', 'pulocationid', 'VendorID')"),
      "pulocationid,vendorid");
}

}  // namespace
}  // namespace kiln::testing
