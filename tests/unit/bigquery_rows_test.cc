// jobs.getQueryResults pages (the documented JSON: schema.fields, rows[{f:[{v}]}], values as
// strings or null) into DuckDB tables of the types docs/design/cloud.md §5 names.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kiln/connectors/bigquery/result_rows.h"
#include "kiln/connectors/bigquery/warehouse.h"
#include "kiln/data/engine.h"

namespace kiln::connectors::bigquery {
namespace {

using nlohmann::json;

class BigQueryRowsTest : public ::testing::Test {
 protected:
  BigQueryRowsTest() : engine_(data::Engine::Options{}), duck_(engine_.Connect()) {}
  std::string Value(const std::string& sql) {
    return duck_->Query(sql).GetString(0, 0).value_or("NULL");
  }
  data::Engine engine_;
  std::unique_ptr<data::Connection> duck_;
};

TEST_F(BigQueryRowsTest, PagesBecomeTypedColumnsWithNulls) {
  json schema = json::parse(R"({"fields": [
    {"name": "vendorid", "type": "INTEGER", "mode": "NULLABLE"},
    {"name": "fare", "type": "FLOAT", "mode": "NULLABLE"},
    {"name": "flag", "type": "STRING"},
    {"name": "paid", "type": "BOOLEAN"},
    {"name": "amount", "type": "NUMERIC"},
    {"name": "day", "type": "DATE"},
    {"name": "pickup", "type": "DATETIME"},
    {"name": "raw", "type": "BYTES"}]})");
  ResultRows rows(*duck_, schema, "memory.main.t");
  rows.Append(json::parse(R"([
    {"f": [{"v": "1"}, {"v": "2.5"}, {"v": "N"}, {"v": "true"}, {"v": "12.345"},
           {"v": "2021-01-01"}, {"v": "2021-01-01T00:30:10"}, {"v": "aGk="}]}])"));
  rows.Append(json::parse(R"([
    {"f": [{"v": null}, {"v": null}, {"v": null}, {"v": null}, {"v": null}, {"v": null},
           {"v": null}, {"v": null}]},
    {"f": [{"v": "-7"}, {"v": "Infinity"}, {"v": "it's"}, {"v": "false"}, {"v": "0"},
           {"v": "2020-12-31"}, {"v": "2020-12-31 23:59:59.5"}, {"v": ""}]}])"));
  EXPECT_EQ(rows.Finish(), 3u);
  EXPECT_EQ(Value("SELECT string_agg(column_type, ',' ORDER BY column_name) FROM "
                  "(DESCRIBE memory.main.t)"),
            "DECIMAL(38,9),DATE,DOUBLE,VARCHAR,BOOLEAN,TIMESTAMP,BLOB,BIGINT");
  EXPECT_EQ(Value("SELECT sum(vendorid) FROM memory.main.t"), "-6");
  EXPECT_EQ(Value("SELECT count(*) FROM memory.main.t WHERE vendorid IS NULL AND flag IS NULL"),
            "1");
  EXPECT_EQ(Value("SELECT max(pickup) FROM memory.main.t"), "2021-01-01 00:30:10");
  EXPECT_EQ(Value("SELECT decode(raw) FROM memory.main.t WHERE vendorid = 1"), "hi");
  EXPECT_EQ(Value("SELECT amount FROM memory.main.t WHERE vendorid = 1"), "12.345000000");
  EXPECT_EQ(Value("SELECT isinf(fare) FROM memory.main.t WHERE vendorid = -7"), "true");
}

TEST_F(BigQueryRowsTest, NestedAndRepeatedFieldsBecomeJson) {
  json schema = json::parse(R"({"fields": [
    {"name": "tags", "type": "STRING", "mode": "REPEATED"},
    {"name": "trip", "type": "RECORD", "mode": "NULLABLE", "fields": [
      {"name": "miles", "type": "FLOAT"}, {"name": "stops", "type": "INTEGER",
       "mode": "REPEATED"}]}]})");
  ResultRows rows(*duck_, schema, "memory.main.n");
  rows.Append(json::parse(R"([{"f": [
    {"v": [{"v": "a"}, {"v": "b"}]},
    {"v": {"f": [{"v": "1.5"}, {"v": [{"v": "3"}, {"v": "4"}]}]}}]}])"));
  EXPECT_EQ(rows.Finish(), 1u);
  EXPECT_EQ(Value("SELECT tags FROM memory.main.n"), R"(["a","b"])");
  EXPECT_EQ(Value("SELECT trip FROM memory.main.n"), R"({"miles":1.5,"stops":[3,4]})");
}

TEST_F(BigQueryRowsTest, Int64TimestampsAreMicroseconds) {
  json schema = json::parse(R"({"fields": [{"name": "ts", "type": "TIMESTAMP"}]})");
  ResultRows rows(*duck_, schema, "memory.main.ts");
  // 2021-01-01 00:15:56.123456 UTC, as formatOptions.useInt64Timestamp sends it.
  rows.Append(json::parse(R"([{"f": [{"v": "1609460156123456"}]}, {"f": [{"v": null}]}])"));
  rows.Finish();
  EXPECT_EQ(Value("SELECT column_type FROM (DESCRIBE memory.main.ts)"), "TIMESTAMP WITH TIME ZONE");
  EXPECT_EQ(Value("SELECT epoch_us(ts) FROM memory.main.ts WHERE ts IS NOT NULL"),
            "1609460156123456");
}

TEST_F(BigQueryRowsTest, ARowOfTheWrongWidthIsNamed) {
  json schema = json::parse(R"({"fields": [{"name": "a"}, {"name": "b"}]})");
  ResultRows rows(*duck_, schema, "memory.main.w");
  try {
    rows.Append(json::parse(R"([{"f": [{"v": "1"}]}])"));
    FAIL() << "a short row was appended";
  } catch (const WarehouseError& e) {
    EXPECT_STREQ(e.what(), "BigQuery result row 1 has 1 values for 2 columns");
  }
}

}  // namespace
}  // namespace kiln::connectors::bigquery
