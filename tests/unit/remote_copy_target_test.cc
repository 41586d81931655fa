// Finding `TO 'gs://...'` in a DuckDB COPY statement, so that the statement can write to a
// staging folder that is then published to the object store.
#include <gtest/gtest.h>

#include "kiln/blocks/sql/remote_targets.h"

namespace kiln::blocks::sql {
namespace {

TEST(RemoteCopyTargetTest, FindsTheTopLevelTargetPastSubqueriesStringsAndComments) {
  const std::string sql =
      "COPY (SELECT 'to' AS x, \"TO\" FROM t WHERE a IN (SELECT 1) -- TO 'gs://no/1'\n)\n"
      "/* to 's3://no/2' */ TO 'gs://bucket/it''s/data' (FORMAT parquet, OVERWRITE_OR_IGNORE)";
  std::optional<RemoteCopyTarget> t = FindRemoteCopyTarget(sql);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->uri, "gs://bucket/it's/data");
  EXPECT_EQ(sql.substr(t->literal_offset, t->literal_length), "'gs://bucket/it''s/data'");
  EXPECT_NE(t->options_upper.find("OVERWRITE_OR_IGNORE"), std::string::npos);
}

TEST(RemoteCopyTargetTest, LocalTargetsAndOtherStatementsAreLeftToDuckDb) {
  EXPECT_FALSE(FindRemoteCopyTarget("COPY t TO 'out/data.parquet' (FORMAT parquet)"));
  EXPECT_FALSE(FindRemoteCopyTarget("SELECT 'gs://b/k' AS to_path"));
  EXPECT_FALSE(FindRemoteCopyTarget("COPY t FROM 'gs://b/k.csv'"));
  ASSERT_TRUE(FindRemoteCopyTarget("copy t to 's3://b/k.csv'"));
  EXPECT_EQ(FindRemoteCopyTarget("COPY t TO 'gcs://b/k.csv'")->uri, "gs://b/k.csv");
}

TEST(RemoteCopyTargetTest, OptionsAreReadAsOptionsNotAsSubstrings) {
  EXPECT_TRUE(CopyOption(" (FORMAT PARQUET, PARTITION_BY (D), OVERWRITE TRUE)", "OVERWRITE"));
  EXPECT_TRUE(CopyOption(" (FORMAT PARQUET, OVERWRITE)", "OVERWRITE"));
  EXPECT_FALSE(CopyOption(" (FORMAT PARQUET, OVERWRITE FALSE)", "OVERWRITE"));
  EXPECT_FALSE(CopyOption(" (OVERWRITE_OR_IGNORE 1)", "OVERWRITE"));
  EXPECT_TRUE(CopyOption(" (OVERWRITE_OR_IGNORE 1)", "OVERWRITE_OR_IGNORE"));
  EXPECT_FALSE(CopyOption(" (FILENAME_PATTERN 'OVERWRITE_{I}') -- APPEND", "OVERWRITE"));
  EXPECT_FALSE(CopyOption(" (FILENAME_PATTERN 'OVERWRITE_{I}') -- APPEND", "APPEND"));
}

}  // namespace
}  // namespace kiln::blocks::sql
