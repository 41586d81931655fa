// The local object store (file:// and the stand-in of GCS/S3): keys as files under bucket
// folders, all-or-nothing writes, listing in key order, clear errors for missing buckets and
// objects, and keys that cannot leave their bucket.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "kiln/common/files.h"
#include "kiln/connectors/local/local_store.h"
#include "support/temp_dir.h"

namespace kiln::connectors {
namespace {

using ::testing::HasSubstr;
using Kind = ObjectStoreError::Kind;

class LocalObjectStoreTest : public ::testing::Test {
 protected:
  void Put(const std::string& bucket, const std::string& key, const std::string& content) {
    auto writer = store_.OpenWriter(bucket, key, {});
    writer->Write(content);
    writer->Commit();
  }
  kiln::testing::TempDir dir_;
  LocalObjectStore store_{dir_.path() / "cloud", "gs"};
};

TEST_F(LocalObjectStoreTest, ACommittedObjectIsAFileUnderItsBucketAndKey) {
  auto writer = store_.OpenWriter("de-zoomcamp", "nyc_taxi/2021/01/01/data.parquet", {});
  writer->Write("PAR1");
  writer->Write("...");
  EXPECT_FALSE(
      std::filesystem::exists(store_.PathOf("de-zoomcamp", "nyc_taxi/2021/01/01/data.parquet")));
  ObjectInfo info = writer->Commit();
  EXPECT_EQ(info.key, "nyc_taxi/2021/01/01/data.parquet");
  EXPECT_EQ(info.size, 7u);
  EXPECT_EQ(ReadFile(dir_.path() / "cloud/de-zoomcamp/nyc_taxi/2021/01/01/data.parquet"),
            "PAR1...");
}

TEST_F(LocalObjectStoreTest, AnUncommittedWriterLeavesNothingAndKeepsThePreviousVersion) {
  Put("b", "k.csv", "old");
  {
    auto writer = store_.OpenWriter("b", "k.csv", {});
    writer->Write("half of the new");
  }  // destroyed without Commit: an interrupted upload
  EXPECT_EQ(ReadFile(store_.PathOf("b", "k.csv")), "old");
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path() / "cloud/.kiln-tmp"));
}

TEST_F(LocalObjectStoreTest, ListingReturnsEveryObjectUnderThePrefixInKeyOrder) {
  Put("b", "data/tpep_pickup_date=2021-01-02/part-0.parquet", "2");
  Put("b", "data/tpep_pickup_date=2020-12-31/part-0.parquet", "1");
  Put("b", "other.txt", "x");
  std::vector<ObjectInfo> listed = store_.List("b", "data/");
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].key, "data/tpep_pickup_date=2020-12-31/part-0.parquet");
  EXPECT_EQ(listed[1].key, "data/tpep_pickup_date=2021-01-02/part-0.parquet");
  EXPECT_EQ(store_.List("b", "").size(), 3u);
}

TEST_F(LocalObjectStoreTest, StatDownloadAndDeleteAnObject) {
  Put("b", "k.csv", "a,b\n1,2\n");
  std::optional<ObjectInfo> info = store_.Stat("b", "k.csv");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->size, 8u);
  EXPECT_FALSE(store_.Stat("b", "missing.csv"));
  const auto dest = dir_.path() / "downloaded.csv";
  store_.Download("b", "k.csv", dest);
  EXPECT_EQ(ReadFile(dest), "a,b\n1,2\n");
  const std::string before = info->version;
  Put("b", "k.csv", "replaced");
  EXPECT_NE(store_.Stat("b", "k.csv")->version, before);
  store_.Delete("b", "k.csv");
  store_.Delete("b", "k.csv");  // a missing object is not an error
  EXPECT_FALSE(store_.Stat("b", "k.csv"));
}

TEST_F(LocalObjectStoreTest, MissingBucketsAndObjectsAreNamed) {
  try {
    store_.List("nope", "");
    FAIL();
  } catch (const ObjectStoreError& e) {
    EXPECT_EQ(e.kind(), Kind::kNoSuchBucket);
    EXPECT_THAT(e.what(), HasSubstr("gs://nope"));
  }
  Put("b", "x", "1");
  try {
    store_.Download("b", "y/z.parquet", dir_.path() / "out");
    FAIL();
  } catch (const ObjectStoreError& e) {
    EXPECT_EQ(e.kind(), Kind::kNoSuchObject);
    EXPECT_THAT(e.what(), HasSubstr("read gs://b/y/z.parquet failed: no such object"));
  }
}

TEST_F(LocalObjectStoreTest, KeysCannotLeaveTheirBucket) {
  for (const char* key : {"../escape", "a/../../b", "/abs", "a//b", ""}) {
    EXPECT_THROW(store_.OpenWriter("b", key, {}), ObjectStoreError) << key;
  }
  EXPECT_THROW(store_.OpenWriter("..", "k", {}), ObjectStoreError);
  EXPECT_THROW(store_.OpenWriter(".kiln-tmp", "k", {}), ObjectStoreError);
}

TEST_F(LocalObjectStoreTest, UploadCopiesAFileAllOrNothing) {
  const auto source = dir_.path() / "source.parquet";
  WriteFileAtomic(source, std::string(3 << 20, 'p'));
  ObjectInfo info = store_.Upload(source, "b", "big.parquet", {});
  EXPECT_EQ(info.size, 3u << 20);
  UploadOptions cancelled;
  cancelled.cancelled = [] { return true; };
  EXPECT_THROW(store_.Upload(source, "b", "never.parquet", cancelled), ObjectStoreError);
  EXPECT_FALSE(store_.Stat("b", "never.parquet"));
}

TEST(LocalObjectStoreStaleTest, TemporaryFilesOfAKilledWriterAreRemovedAfterADay) {
  kiln::testing::TempDir dir;
  const std::filesystem::path tmp = dir.path() / ".kiln-tmp";
  std::filesystem::create_directories(tmp);
  std::ofstream(tmp / "object-old") << "half an object";
  std::ofstream(tmp / "object-new") << "a write going on";
  std::filesystem::last_write_time(
      tmp / "object-old", std::filesystem::file_time_type::clock::now() - std::chrono::hours(25));
  LocalObjectStore store(dir.path(), "gs");
  EXPECT_FALSE(std::filesystem::exists(tmp / "object-old"));
  EXPECT_TRUE(std::filesystem::exists(tmp / "object-new"));
}

TEST(ObjectUriTest, ParsesGcsS3AndFileUrisAndRefusesOthers) {
  ObjectUri gs = ParseObjectUri("gs://de-zoomcamp/nyc_taxi/data.parquet");
  EXPECT_EQ(gs.scheme, "gs");
  EXPECT_EQ(gs.bucket, "de-zoomcamp");
  EXPECT_EQ(gs.key, "nyc_taxi/data.parquet");
  EXPECT_EQ(gs.ToString(), "gs://de-zoomcamp/nyc_taxi/data.parquet");
  EXPECT_EQ(ParseObjectUri("s3://b/k").bucket, "b");
  EXPECT_EQ(ParseObjectUri("file:///tmp/x.csv").key, "/tmp/x.csv");
  try {
    ParseObjectUri("ftp://b/k");
    FAIL();
  } catch (const ObjectStoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("object URI 'ftp://b/k': expected gs://, s3:// or file://"));
  }
  auto error_of = [](const char* uri) {
    try {
      ParseObjectUri(uri);
    } catch (const ObjectStoreError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(error_of("gs://bucket-only"), HasSubstr("'gs://bucket-only'"));
  EXPECT_THAT(error_of("gs://bucket-only"), HasSubstr("no object key"));
  EXPECT_THAT(error_of("gs:///key"), HasSubstr("no bucket"));
}

}  // namespace
}  // namespace kiln::connectors
