// Exports of a DuckDB relation as one object or a Hive-partitioned Parquet dataset onto an object
// store (the local folder store, as the local cloud stand-in uses it): keys, rows per partition,
// partition columns left out of the files, pandas metadata, existing-data behaviours, and no
// object left behind by a failed export.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

#include "kiln/common/names.h"
#include "kiln/connectors/local/local_store.h"
#include "kiln/connectors/object_store/dataset_export.h"
#include "kiln/data/duckdb.h"
#include "support/temp_dir.h"

namespace kiln::connectors {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Existing = DatasetOptions::Existing;

// 10 trips over three days and one without a date.
constexpr const char* kTrips =
    "(SELECT i AS trip, i * 1.5 AS fare, CASE WHEN i < 2 THEN DATE '2020-12-31' WHEN i < 8 THEN "
    "DATE '2021-01-01' WHEN i < 9 THEN DATE '2021-01-02' END AS pickup_date FROM range(10) t(i))";

class DatasetExportTest : public ::testing::Test {
 protected:
  std::vector<std::string> Keys(const std::string& prefix) {
    std::vector<std::string> keys;
    for (const ObjectInfo& o : store_.List("bucket", prefix)) keys.push_back(o.key);
    return keys;
  }
  int64_t Count(const std::string& sql) { return duck_.Query(sql).GetInt64(0, 0); }
  std::string File(const std::string& key) {
    return QuoteLiteral(store_.PathOf("bucket", key).string());
  }

  kiln::testing::TempDir dir_;
  LocalObjectStore store_{dir_.path() / "cloud", "gs"};
  data::Database db_;
  data::Connection duck_{db_};
};

TEST_F(DatasetExportTest, OneObjectHoldsEveryRowAtExactlyTheKey) {
  DatasetResult r = ExportDataset(duck_, kTrips, store_, "bucket", "nyc/trips.parquet", {});
  EXPECT_EQ(r.rows, 10u);
  ASSERT_EQ(r.objects.size(), 1u);
  EXPECT_EQ(r.objects[0].key, "nyc/trips.parquet");
  EXPECT_EQ(Count("SELECT count(*) FROM read_parquet(" + File("nyc/trips.parquet") + ")"), 10);
  EXPECT_TRUE(std::filesystem::is_empty(store_.StagingDir()));
}

TEST_F(DatasetExportTest, PartitionsAreHiveFoldersWithoutThePartitionColumn) {
  DatasetOptions o;
  o.partition_cols = {"pickup_date"};
  o.null_partition_name = "__HIVE_DEFAULT_PARTITION__";
  DatasetResult r = ExportDataset(duck_, kTrips, store_, "bucket", "nyc_taxi_data", o);
  EXPECT_EQ(r.rows, 10u);
  EXPECT_THAT(Keys("nyc_taxi_data/"),
              ElementsAre("nyc_taxi_data/pickup_date=2020-12-31/part-0.parquet",
                          "nyc_taxi_data/pickup_date=2021-01-01/part-0.parquet",
                          "nyc_taxi_data/pickup_date=2021-01-02/part-0.parquet",
                          "nyc_taxi_data/pickup_date=__HIVE_DEFAULT_PARTITION__/part-0.parquet"));
  const std::string day = File("nyc_taxi_data/pickup_date=2021-01-01/part-0.parquet");
  EXPECT_EQ(Count("SELECT count(*) FROM read_parquet(" + day + ", hive_partitioning = false)"), 6);
  EXPECT_EQ(Count("SELECT count(*) FROM (DESCRIBE SELECT * FROM read_parquet(" + day +
                  ", hive_partitioning = false)) WHERE column_name = 'pickup_date'"),
            0);
}

TEST_F(DatasetExportTest, PandasMetadataIsWrittenIntoEachFile) {
  DatasetOptions o;
  o.partition_cols = {"pickup_date"};
  o.pandas_metadata = {{"index_columns", {"__index_level_0__"}}};
  ExportDataset(duck_, kTrips, store_, "bucket", "p", o);
  data::Result meta = duck_.Query("SELECT value::VARCHAR FROM parquet_kv_metadata(" +
                                  File("p/pickup_date=2021-01-02/part-0.parquet") +
                                  ") WHERE key::VARCHAR = 'pandas'");
  ASSERT_EQ(meta.row_count(), 1u);
  EXPECT_THAT(meta.GetString(0, 0).value_or(""), HasSubstr("__index_level_0__"));
}

TEST_F(DatasetExportTest, ExistingErrorRefusesAndWritesNothing) {
  ExportDataset(duck_, kTrips, store_, "bucket", "p/old.parquet", {});
  DatasetOptions o;
  o.partition_cols = {"pickup_date"};
  o.existing = Existing::kError;
  try {
    ExportDataset(duck_, kTrips, store_, "bucket", "p", o);
    FAIL() << "no error";
  } catch (const ObjectStoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("gs://bucket/p/"));
    EXPECT_THAT(e.what(), HasSubstr("p/old.parquet"));
  }
  EXPECT_THAT(Keys("p/"), ElementsAre("p/old.parquet"));
}

TEST_F(DatasetExportTest, OverwriteOrIgnoreKeepsOtherObjectsAndReplaceAllRemovesThem) {
  ExportDataset(duck_, kTrips, store_, "bucket", "p/old.parquet", {});
  DatasetOptions o;
  o.partition_cols = {"pickup_date"};
  ExportDataset(duck_, kTrips, store_, "bucket", "p", o);
  EXPECT_EQ(Keys("p/").size(), 5u);
  o.existing = Existing::kReplaceAll;
  o.basename = "second-{i}";
  ExportDataset(duck_, kTrips, store_, "bucket", "p", o);
  EXPECT_THAT(Keys("p/"), ElementsAre("p/pickup_date=2020-12-31/second-0.parquet",
                                      "p/pickup_date=2021-01-01/second-0.parquet",
                                      "p/pickup_date=2021-01-02/second-0.parquet",
                                      "p/pickup_date=NULL/second-0.parquet"));
}

TEST_F(DatasetExportTest, DeleteMatchingReplacesOnlyTheWrittenPartitions) {
  DatasetOptions o;
  o.partition_cols = {"pickup_date"};
  ExportDataset(duck_, kTrips, store_, "bucket", "p", o);
  o.existing = Existing::kDeleteMatching;
  o.basename = "new-{i}";
  ExportDataset(duck_, "(SELECT * FROM " + std::string(kTrips) + " WHERE trip < 2)", store_,
                "bucket", "p", o);
  EXPECT_THAT(Keys("p/pickup_date=2020-12-31/"),
              ElementsAre("p/pickup_date=2020-12-31/new-0.parquet"));
  EXPECT_THAT(Keys("p/pickup_date=2021-01-01/"),
              ElementsAre("p/pickup_date=2021-01-01/part-0.parquet"));
}

// A store whose third upload fails, as a network error halfway through a dataset would.
class FailingStore : public LocalObjectStore {
 public:
  using LocalObjectStore::LocalObjectStore;
  ObjectInfo Upload(const std::filesystem::path& source, std::string_view bucket,
                    std::string_view key, const UploadOptions& options) override {
    if (++uploads_ == 3) {
      throw ObjectStoreError(ObjectStoreError::Kind::kTransport,
                             "upload " + std::string(key) + " failed: connection reset");
    }
    return LocalObjectStore::Upload(source, bucket, key, options);
  }

 private:
  std::atomic<int> uploads_{0};
};

TEST_F(DatasetExportTest, AFailedUploadLeavesNoObjectOfTheExportBehind) {
  FailingStore failing(dir_.path() / "cloud", "gs");
  DatasetOptions o;
  o.partition_cols = {"pickup_date"};
  o.parallel_uploads = 1;
  EXPECT_THROW(
      {
        try {
          ExportDataset(duck_, kTrips, failing, "bucket", "p", o);
        } catch (const ObjectStoreError& e) {
          EXPECT_THAT(e.what(), HasSubstr("connection reset"));
          throw;
        }
      },
      ObjectStoreError);
  EXPECT_TRUE(Keys("p/").empty());
  EXPECT_TRUE(std::filesystem::is_empty(store_.StagingDir()));
}

TEST_F(DatasetExportTest, ReplacingWithNoRowsEmptiesTheDatasetAsDuckDbsOverwrite) {
  DatasetOptions o;
  o.partition_cols = {"pickup_date"};
  ExportDataset(duck_, kTrips, store_, "bucket", "p", o);
  ExportDataset(duck_, kTrips, store_, "bucket", "other.parquet", {});
  o.existing = Existing::kReplaceAll;
  DatasetResult r = ExportDataset(duck_, "(SELECT * FROM " + std::string(kTrips) + " WHERE false)",
                                  store_, "bucket", "p", o);
  EXPECT_EQ(r.rows, 0u);
  EXPECT_TRUE(Keys("p/").empty());
  EXPECT_THAT(Keys(""), ElementsAre("other.parquet"));
}

TEST_F(DatasetExportTest, AFailedUploadKeepsTheObjectsItHadReplaced) {
  DatasetOptions o;
  o.partition_cols = {"pickup_date"};
  ExportDataset(duck_, kTrips, store_, "bucket", "p", o);  // part-0 in 4 folders
  FailingStore failing(dir_.path() / "cloud", "gs");
  o.parallel_uploads = 1;  // uploads in key order: the third one fails
  const std::string renumbered =
      "(SELECT trip + 100 AS trip, fare, pickup_date FROM " + std::string(kTrips) + ")";
  try {
    ExportDataset(duck_, renumbered, failing, "bucket", "p", o);
    FAIL() << "no error";
  } catch (const ObjectStoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("connection reset"));
  }
  // None was deleted: the two replaced before the failure hold the new rows, the others the old.
  ASSERT_EQ(Keys("p/").size(), 4u);
  auto min_trip = [&](const std::string& day) {
    return Count("SELECT min(trip) FROM read_parquet(" +
                 File("p/pickup_date=" + day + "/part-0.parquet") + ", hive_partitioning = false)");
  };
  EXPECT_EQ(min_trip("2020-12-31"), 100);
  EXPECT_EQ(min_trip("2021-01-01"), 102);
  EXPECT_EQ(min_trip("2021-01-02"), 8);
}

}  // namespace
}  // namespace kiln::connectors
