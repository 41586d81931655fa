// How `kiln run` behaves when blocks fail, retry, time out or cannot run, and the export
// write policies, on small projects built per test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/kiln_project.h"

namespace kiln::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A three-block SQL pipeline: loader -> transformer -> exporter, plus extra blocks on request.
class RunBehaviourTest : public ::testing::Test {
 protected:
  void Pipeline(const std::string& yaml) { project_.Write("pipelines/p/metadata.yaml", yaml); }
  void Sql(const std::string& path, const std::string& sql) { project_.Write(path, sql); }
  KilnProject project_;
};

TEST_F(RunBehaviourTest, FailingBlockMarksDownstreamUpstreamFailedAndExitsNonZero) {
  Sql("data_loaders/load.sql", "SELECT * FROM no_such_table");
  Sql("transformers/clean.sql", "SELECT * FROM {{ df_1 }}");
  Sql("data_loaders/other.sql", "SELECT 42 AS answer");
  Pipeline(R"(blocks:
- {uuid: load, type: data_loader, language: sql}
- {uuid: clean, type: transformer, language: sql, upstream_blocks: [load]}
- {uuid: other, type: data_loader, language: sql}
)");
  ProcessResult r = project_.Run("p");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("Pipeline p failed"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("load +failed"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("clean +upstream_failed"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("other +completed"));  // independent branch ran
  EXPECT_THAT(r.out, HasSubstr("load: block 'load': data_loaders/load.sql:1: Catalog Error: "
                               "Table with name no_such_table does not exist!"));
}

TEST_F(RunBehaviourTest, FailFastCancelsTheOtherBlocks) {
  Sql("data_loaders/bad.sql", "SELECT * FROM no_such_table");
  Sql("data_loaders/slow.sql", "SELECT count(*) FROM range(100000000000) t1");
  Pipeline(R"(blocks:
- {uuid: bad, type: data_loader, language: sql}
- {uuid: slow, type: data_loader, language: sql}
)");
  ProcessResult r = project_.Run("p", {"--fail-fast", "--parallel", "2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, ::testing::ContainsRegex("slow +cancelled"));
  EXPECT_THAT(r.out, HasSubstr("cancelled because block 'bad' failed"));
}

TEST_F(RunBehaviourTest, RetriesFollowTheRetryConfigAndAreLogged) {
  Sql("data_loaders/flaky.sql", "SELECT * FROM missing_table");
  Pipeline(R"(blocks:
- uuid: flaky
  type: data_loader
  language: sql
  retry_config: {retries: 2, delay: 0}
)");
  ProcessResult r = project_.Run("p");
  EXPECT_EQ(r.exit_code, 1);
  std::string log = Slurp(project_.data_dir() / "pipelines/p/.logs/flaky.log");
  EXPECT_THAT(log, HasSubstr("retrying in 0 s (attempt 2)"));
  EXPECT_THAT(log, HasSubstr("retrying in 0 s (attempt 3)"));
  EXPECT_THAT(log, Not(HasSubstr("(attempt 4)")));
}

TEST_F(RunBehaviourTest, ProjectRetryConfigAppliesToEveryBlock) {
  project_.Write("metadata.yaml", "retry_config:\n  retries: 1\n  delay: 0\n");
  Sql("data_loaders/flaky.sql", "SELECT * FROM missing_table");
  Pipeline("blocks:\n- {uuid: flaky, type: data_loader, language: sql}\n");
  project_.Run("p");
  EXPECT_THAT(Slurp(project_.data_dir() / "pipelines/p/.logs/flaky.log"), HasSubstr("(attempt 2)"));
}

TEST_F(RunBehaviourTest, TimeoutStopsALongQueryAndFailsTheBlock) {
  Sql("data_loaders/slow.sql", "SELECT count(*) FROM range(100000000000) t1");
  Pipeline("blocks:\n- {uuid: slow, type: data_loader, language: sql, timeout: 1}\n");
  auto start = std::chrono::steady_clock::now();
  ProcessResult r = project_.Run("p");
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("block 'slow' timed out after 1 s"));
  EXPECT_LT(elapsed, std::chrono::seconds(20));
}

TEST_F(RunBehaviourTest, UndefinedTemplateNameFailsTheBlockNamingIt) {
  Sql("data_loaders/load.sql", "SELECT * FROM {{ table_name }}");
  Pipeline("blocks:\n- {uuid: load, type: data_loader, language: sql}\n");
  ProcessResult r = project_.Run("p");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("data_loaders/load.sql:1: 'table_name' is undefined"));
}

TEST_F(RunBehaviourTest, TemplateSeesVariablesExecutionDateAndEnvVars) {
  Sql("data_loaders/load.sql",
      "SELECT '{{ execution_date.strftime(\"%Y/%m/%d\") }}' AS day, '{{ ds }}' AS ds, "
      "{{ variables('n') }} AS n, '{{ env_var('KILN_TEST_GREETING') }}' AS greeting, "
      "'{{ pipeline_uuid }}.{{ block_uuid }}' AS who");
  Pipeline(
      "variables: {n: 7}\nblocks:\n- uuid: load\n  type: data_loader\n  language: sql\n"
      "  configuration: {data_provider_table: facts, export_write_policy: replace}\n");
  ProcessResult r =
      project_.Kiln({"run", project_.root().string(), "p", "--data-dir",
                     project_.data_dir().string(), "--execution-date", "2021-01-05T00:00:00"},
                    {{"KILN_TEST_GREETING", "hello"}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(
      project_.WarehouseValue(
          "SELECT day || ' ' || ds || ' ' || n || ' ' || greeting || ' ' || who FROM main.facts"),
      "2021/01/05 2021-01-05 7 hello p.load");
}

TEST_F(RunBehaviourTest, AppendAddsRowsAndFailRefusesAnExistingTable) {
  Sql("data_loaders/load.sql", "SELECT 1 AS id UNION ALL SELECT 2");
  Pipeline(
      "blocks:\n- uuid: load\n  type: data_loader\n  language: sql\n  configuration:\n"
      "    data_provider_schema: s\n    data_provider_table: t\n");  // default policy: append
  ASSERT_EQ(project_.Run("p").exit_code, 0);
  ASSERT_EQ(project_.Run("p").exit_code, 0);
  EXPECT_EQ(project_.WarehouseValue("SELECT count(*) FROM s.t"), "4");

  Pipeline(
      "blocks:\n- uuid: load\n  type: data_loader\n  language: sql\n  configuration:\n"
      "    data_provider_schema: s\n    data_provider_table: t\n    export_write_policy: fail\n");
  ProcessResult r = project_.Run("p");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("table s.t already exists and export_write_policy is 'fail'"));
  EXPECT_EQ(project_.WarehouseValue("SELECT count(*) FROM s.t"), "4");
}

TEST_F(RunBehaviourTest, FailedBlockLeavesThePreviouslyExportedTableUntouched) {
  Sql("data_loaders/load.sql", "SELECT 1 AS id");
  Pipeline(
      "blocks:\n- uuid: load\n  type: data_loader\n  language: sql\n  configuration:\n"
      "    data_provider_table: t\n    export_write_policy: replace\n");
  ASSERT_EQ(project_.Run("p").exit_code, 0);
  // The query fails while its rows are produced: the replace must not have dropped anything.
  Sql("data_loaders/load.sql", "SELECT CAST('x' || range AS INTEGER) AS id FROM range(10)");
  EXPECT_EQ(project_.Run("p").exit_code, 1);
  EXPECT_EQ(project_.WarehouseValue("SELECT count(*) FROM main.t"), "1");
}

TEST_F(RunBehaviourTest, UnsupportedBlocksAreReportedBeforeAnythingRuns) {
  Sql("data_loaders/load.sql", "SELECT 1 AS id");
  project_.Write("callbacks/notify.py", "@callback('success')\ndef c(*a, **kw):\n    pass\n");
  Pipeline(R"(blocks:
- {uuid: load, type: data_loader, language: sql}
callbacks:
- {uuid: notify, type: callback, language: python, upstream_blocks: [load]}
)");
  ProcessResult r = project_.Run("p");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("pipelines/p/metadata.yaml:4: block 'notify' (python callback): "
                               "callback blocks are not supported yet"));
  EXPECT_FALSE(std::filesystem::exists(project_.data_dir() / "pipelines/p/.variables/load"));
}

TEST_F(RunBehaviourTest, InvalidPipelineIsRejectedWithFileLineAndBlock) {
  Sql("transformers/t.sql", "SELECT 1");
  Pipeline("blocks:\n- {uuid: t, type: transformer, language: sql, upstream_blocks: [ghost]}\n");
  ProcessResult r = project_.Run("p");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("metadata.yaml:2: block 't' names unknown upstream block 'ghost'"));
}

TEST_F(RunBehaviourTest, MultiStatementBlockOutputsItsLastSelect) {
  Sql("data_loaders/load.sql",
      "CREATE OR REPLACE TEMP TABLE nums AS SELECT range AS n FROM range(5);\n"
      "SELECT sum(n) AS total FROM nums;\n"
      "-- a trailing comment\n");
  Sql("data_exporters/save.sql", "SELECT total * 2 AS doubled FROM {{ df_1 }}");
  Pipeline(R"(blocks:
- {uuid: load, type: data_loader, language: sql}
- uuid: save
  type: data_exporter
  language: sql
  upstream_blocks: [load]
  configuration: {data_provider_table: result, export_write_policy: replace}
)");
  ProcessResult r = project_.Run("p");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(project_.WarehouseValue("SELECT doubled FROM main.result"), "20");
}

TEST_F(RunBehaviourTest, BlockOutputFunctionNamesAnotherBlocksOutput) {
  Sql("data_loaders/a.sql", "SELECT 1 AS x");
  Sql("data_loaders/b.sql", "SELECT 2 AS x");
  Sql("transformers/c.sql",
      "SELECT * FROM {{ block_output('a') }} UNION ALL SELECT * FROM {{ df_2 }}");
  Pipeline(R"(blocks:
- {uuid: a, type: data_loader, language: sql}
- {uuid: b, type: data_loader, language: sql}
- uuid: c
  type: transformer
  language: sql
  upstream_blocks: [a, b]
  configuration: {data_provider_table: c_out, export_write_policy: replace}
)");
  ProcessResult r = project_.Run("p");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(project_.WarehouseValue("SELECT sum(x) FROM main.c_out"), "3");
}

TEST_F(RunBehaviourTest, UnknownProfileFailsTheBlockNamingIt) {
  Sql("data_loaders/load.sql", "SELECT 1");
  project_.Write("io_config.yaml", "default:\n  DUCKDB_DATABASE: w.duckdb\n");
  Pipeline(
      "blocks:\n- uuid: load\n  type: data_loader\n  language: sql\n"
      "  configuration: {data_provider_profile: prod}\n");
  ProcessResult r = project_.Run("p");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("no profile 'prod' (profiles: default)"));
}

TEST_F(RunBehaviourTest, WarehouseFileComesFromIoConfig) {
  Sql("data_loaders/load.sql", "SELECT 5 AS v");
  project_.Write("io_config.yaml",
                 "default:\n  DUCKDB_DATABASE: \"{{ env_var('KILN_TEST_DB') }}\"\n  DUCKDB_SCHEMA: "
                 "analytics\n");
  Pipeline(
      "blocks:\n- uuid: load\n  type: data_loader\n  language: sql\n"
      "  configuration: {data_provider_table: v, export_write_policy: replace}\n");
  ProcessResult r = project_.Kiln(
      {"run", project_.root().string(), "p", "--data-dir", project_.data_dir().string()},
      {{"KILN_TEST_DB", "lake/custom.duckdb"}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  data::Database db((project_.root() / "lake/custom.duckdb").string(),
                    {{"access_mode", "READ_ONLY"}});
  data::Connection conn(db);
  EXPECT_EQ(conn.Query("SELECT v FROM analytics.v").GetString(0, 0), "5");
}

}  // namespace
}  // namespace kiln::testing

namespace kiln::testing {
namespace {

TEST(HugeintTest, HugeintColumnsOfAWarehouseTableStayExactThroughTheOutput) {
  KilnProject project;
  project.Write("data_loaders/make.sql",
                "CREATE OR REPLACE TABLE big AS SELECT 12345678901234567890123::HUGEINT AS h;\n"
                "SELECT 1 AS done");
  project.Write("transformers/read.sql", "SELECT * FROM big");
  project.Write("pipelines/p/metadata.yaml", R"(blocks:
- {uuid: make, type: data_loader, language: sql}
- {uuid: read, type: transformer, language: sql, upstream_blocks: [make]}
)");
  ProcessResult r = project.Run("p");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(KilnProject::Value("SELECT h::VARCHAR FROM read_parquet('" +
                               (project.OutputDir("p", "read") / "data.parquet").string() + "')"),
            "12345678901234567890123");
}

}  // namespace
}  // namespace kiln::testing
