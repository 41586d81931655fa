// The `kiln` commands besides run: init, pipelines, show, and argument errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/kiln_project.h"

namespace kiln::testing {
namespace {

using ::testing::HasSubstr;

TEST(CliTest, InitCreatesAMageLayoutWhoseExamplePipelineRuns) {
  TempDir dir;
  auto root = dir.path() / "my_project";
  ProcessResult init = RunProcess({KilnBinary().string(), "init", root.string()});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  for (const char* f :
       {"metadata.yaml", "io_config.yaml", "requirements.txt", ".gitignore", "__init__.py",
        "data_loaders/__init__.py", "transformers/__init__.py", "data_exporters/__init__.py",
        "custom/__init__.py", "utils/__init__.py", "pipelines/example_pipeline/metadata.yaml"}) {
    EXPECT_TRUE(std::filesystem::exists(root / f)) << f;
  }
  ProcessResult run = RunProcess({KilnBinary().string(), "run", root.string(), "example_pipeline",
                                  "--data-dir", (dir.path() / "data").string()});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("table example.people (replace, 4 rows)"));
}

TEST(CliTest, InitRefusesANonEmptyFolder) {
  TempDir dir;
  dir.Write("existing.txt", "x");
  ProcessResult r = RunProcess({KilnBinary().string(), "init", dir.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("already exists and is not empty"));
}

TEST(CliTest, PipelinesListsTheExamplePipelines) {
  KilnProject project("nyc_taxi");
  ProcessResult r = project.Kiln({"pipelines", project.root().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::ContainsRegex("api_to_parquet +python +4"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("api_to_warehouse +python +3"));
}

TEST(CliTest, ShowPrintsBlocksAndEdges) {
  KilnProject project("nyc_taxi");
  ProcessResult r = project.Kiln({"show", project.root().string(), "api_to_parquet"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::ContainsRegex("load_taxi_data +data_loader +sql +-"));
  EXPECT_THAT(r.out, HasSubstr("transform_taxi_data -> export_taxi_to_parquet_partitioned"));
}

TEST(CliTest, UnknownPipelineAndBadArgumentsAreClearErrors) {
  KilnProject project("nyc_taxi");
  ProcessResult r = project.Run("nope");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no pipeline 'nope' (known: api_to_gcs, api_to_gcs_parameterized, "
                               "api_to_gcs_partitioned, api_to_parquet, api_to_postgres, "
                               "api_to_postgres_python, api_to_warehouse, gcs_to_bigquery, "
                               "test_config)"));
  r = project.Run("api_to_warehouse", {"--runtime-vars", "[1, 2]"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--runtime-vars must be a JSON object"));
  r = project.Run("api_to_warehouse", {"--execution-date", "yesterday"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--execution-date 'yesterday' is not an ISO 8601"));
}

}  // namespace
}  // namespace kiln::testing
