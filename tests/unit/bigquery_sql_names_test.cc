// How a BigQuery block's SQL names tables: Mage's {{ df_N }} form for BigQuery, and the rewriting
// that lets the same SQL run on the local stand-in (docs/design/cloud.md §8), plus the stand-in
// warehouse itself on a real DuckDB engine.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kiln/connectors/bigquery/local_warehouse.h"
#include "kiln/connectors/bigquery/sql_names.h"
#include "support/temp_dir.h"

namespace kiln::connectors::bigquery {
namespace {

using ::testing::HasSubstr;

TEST(BigQuerySqlNamesTest, DfNIsProjectDatasetTableWithoutBackticks) {
  TableRef t{"evident-display-410312", "ny_taxi", "dev_gcs_to_bigquery_transform_staged_data_v1"};
  EXPECT_EQ(BigQueryTableName(t),
            "evident-display-410312.ny_taxi.dev_gcs_to_bigquery_transform_staged_data_v1");
  EXPECT_EQ(StandInTableName(t), "ny_taxi.dev_gcs_to_bigquery_transform_staged_data_v1");
  EXPECT_EQ(StandInTableName(TableRef{"p", "my-data", "Trips 2021"}), "\"my-data\".\"Trips 2021\"");
}

TEST(BigQuerySqlNamesTest, BackticksAreRewrittenForTheStandInOutsideStrings) {
  EXPECT_EQ(RewriteForStandIn("SELECT * FROM `evident-display-410312.ny_taxi.trips`", "local"),
            "SELECT * FROM \"ny_taxi\".\"trips\"");
  EXPECT_EQ(RewriteForStandIn("SELECT * FROM `p`.`ny_taxi`.`trips` t", "local"),
            "SELECT * FROM \"ny_taxi\".\"trips\" t");
  EXPECT_EQ(RewriteForStandIn("SELECT * FROM `ny_taxi.trips`", "local"),
            "SELECT * FROM \"ny_taxi\".\"trips\"");
  EXPECT_EQ(RewriteForStandIn("SELECT `Vendor ID` FROM ny_taxi.trips", "local"),
            "SELECT \"Vendor ID\" FROM ny_taxi.trips");
  // The block's project, written without backticks, is dropped; so is a hyphenated one.
  EXPECT_EQ(RewriteForStandIn("SELECT 1 FROM my_proj.ny_taxi.trips", "my_proj"),
            "SELECT 1 FROM ny_taxi.trips");
  EXPECT_EQ(RewriteForStandIn("SELECT 1 FROM evident-display-410312.ny_taxi.trips", "x"),
            "SELECT 1 FROM ny_taxi.trips");
  // Strings, comments and arithmetic are left alone.
  const std::string kept =
      "SELECT 'a `p.d.t` b', \"c\" -- `p.d.t`\n/* `p.d.t` */ , a-b, x - y.z FROM s.t";
  EXPECT_EQ(RewriteForStandIn(kept, "local"), kept);
  // Three-part names of other projects stay three parts (DuckDB then says what is missing).
  EXPECT_EQ(RewriteForStandIn("SELECT * FROM other.ny_taxi.trips", "local"),
            "SELECT * FROM other.ny_taxi.trips");
}

TEST(BigQuerySqlNamesTest, TableIdIsDatasetTableOrProjectDatasetTable) {
  TableRef two = ParseTableId("ny_taxi.trips", "p1");
  EXPECT_EQ(two.Display(), "p1.ny_taxi.trips");
  TableRef three = ParseTableId("p2.ny_taxi.trips", "p1");
  EXPECT_EQ(three.project, "p2");
  try {
    ParseTableId("trips", "p1");
    FAIL() << "a bare table was accepted";
  } catch (const WarehouseError& e) {
    EXPECT_THAT(e.what(), HasSubstr("table_id 'trips' must be 'dataset.table' or "
                                    "'project.dataset.table'"));
  }
}

class LocalWarehouseTest : public ::testing::Test {
 protected:
  LocalWarehouseTest() : engine_(data::Engine::Options{}) {}
  std::string Parquet(const std::string& name, const std::string& select) {
    auto path = temp_.path() / name;
    engine_.Connect()->Execute("COPY (" + select + ") TO '" + path.string() + "' (FORMAT parquet)");
    return path.string();
  }
  testing::TempDir temp_;
  data::Engine engine_;
};

TEST_F(LocalWarehouseTest, PoliciesReplaceAppendAndFailAsLoadJobs) {
  LocalWarehouse wh(engine_, temp_.path() / "bigquery.duckdb", "");
  EXPECT_EQ(wh.project(), "local");
  TableRef t{"local", "ny_taxi", "trips"};
  auto three = Parquet("a.parquet", "SELECT range AS id FROM range(3)");
  wh.EnsureDataset("ny_taxi");
  EXPECT_FALSE(wh.TableExists(t));
  EXPECT_EQ(wh.LoadParquet(t, three, ExportWritePolicy::kAppend, {}), 3u);
  EXPECT_EQ(wh.LoadParquet(t, three, ExportWritePolicy::kAppend, {}), 3u);
  EXPECT_TRUE(wh.TableExists(t));
  auto duck = engine_.Connect();
  EXPECT_EQ(wh.Read("SELECT * FROM `local.ny_taxi.trips`;", 100, *duck, "memory.main.r1", {}), 6u);
  EXPECT_EQ(wh.LoadParquet(t, three, ExportWritePolicy::kReplace, {}), 3u);
  try {
    wh.LoadParquet(t, three, ExportWritePolicy::kFail, {});
    FAIL() << "fail policy loaded into an existing table";
  } catch (const WarehouseError& e) {
    EXPECT_THAT(e.what(), HasSubstr("already exists"));
    EXPECT_THAT(e.what(), HasSubstr("local BigQuery stand-in"));
  }
  EXPECT_EQ(wh.Read("SELECT * FROM ny_taxi.trips", 2, *duck, "memory.main.r2", {}), 2u);
  // A block's text ends with ';' and a newline: the warehouse still wraps it as one query.
  EXPECT_EQ(wh.Run("SELECT id * 10 AS x FROM ny_taxi.trips;\n", TableRef{"", "out", "tens"},
                   ExportWritePolicy::kReplace, {}),
            3u);
  wh.Read("SELECT sum(x) AS s FROM out.tens", 1, *duck, "memory.main.r3", {});
  EXPECT_EQ(duck->Query("SELECT s FROM memory.main.r3").GetInt64(0, 0), 30);
}

TEST_F(LocalWarehouseTest, AQueryErrorSaysItCameFromTheStandIn) {
  LocalWarehouse wh(engine_, temp_.path() / "bigquery.duckdb", "p");
  try {
    wh.Run("SELECT * FROM ny_taxi.nowhere", std::nullopt, ExportWritePolicy::kAppend, {});
    FAIL() << "a missing table was found";
  } catch (const WarehouseError& e) {
    EXPECT_THAT(e.what(), HasSubstr("query failed in the local BigQuery stand-in"));
    EXPECT_THAT(e.what(), HasSubstr("nowhere"));
  }
}

}  // namespace
}  // namespace kiln::connectors::bigquery
