// What `kiln run` promises when things go wrong around the blocks: interrupts and timeouts that
// always stop the run, folders that cannot be written, concurrent runs, pipelines it must refuse.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "support/httplib.h"
#include "support/kiln_project.h"

namespace kiln::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

constexpr const char* kSlowQuery = "SELECT count(*) AS n FROM range(100000000000) t";

class RobustnessTest : public ::testing::Test {
 protected:
  void Pipeline(const std::string& yaml) { project_.Write("pipelines/p/metadata.yaml", yaml); }
  ProcessResult RunP(std::vector<std::string> more = {}, const SignalPlan& signals = {},
                     milliseconds* elapsed = nullptr) {
    std::vector<std::string> args = {"run", project_.root().string(), "p", "--data-dir",
                                     project_.data_dir().string()};
    args.insert(args.end(), more.begin(), more.end());
    return project_.Kiln(args, {}, signals, elapsed);
  }
  KilnProject project_;
};

TEST_F(RobustnessTest, CtrlCCancelsARunningQueryAndExits130) {
  project_.Write("data_loaders/slow.sql", kSlowQuery);
  project_.Write("transformers/after.sql", "SELECT * FROM {{ df_1 }}");
  Pipeline(R"(blocks:
- {uuid: slow, type: data_loader, language: sql}
- {uuid: after, type: transformer, language: sql, upstream_blocks: [slow]}
)");
  milliseconds elapsed{};
  ProcessResult r = RunP({}, {{milliseconds(500), SIGINT}}, &elapsed);
  EXPECT_EQ(r.exit_code, 130) << r.out << r.err;
  EXPECT_LT(elapsed, seconds(10));
  EXPECT_THAT(r.out, HasSubstr("Pipeline p cancelled"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("slow +cancelled"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("after +cancelled"));
  EXPECT_THAT(r.err, HasSubstr("interrupt received, cancelling the run"));
}

TEST_F(RobustnessTest, InterruptAtAnyMomentOfStartUpNeverHangs) {
  project_.Write("data_loaders/slow.sql", kSlowQuery);
  Pipeline("blocks:\n- {uuid: slow, type: data_loader, language: sql}\n");
  for (int delay_ms : {0, 2, 5, 10, 20, 40, 80}) {
    milliseconds elapsed{};
    ProcessResult r = RunP({}, {{milliseconds(delay_ms), SIGINT}}, &elapsed);
    EXPECT_LT(elapsed, seconds(10)) << "SIGINT after " << delay_ms << " ms: " << r.err;
    EXPECT_NE(r.exit_code, 0) << "SIGINT after " << delay_ms << " ms";
  }
}

TEST_F(RobustnessTest, SecondInterruptExitsAtOnce) {
  project_.Write("data_loaders/slow.sql", kSlowQuery);
  Pipeline("blocks:\n- {uuid: slow, type: data_loader, language: sql}\n");
  ProcessResult r = RunP({}, {{milliseconds(300), SIGINT}, {milliseconds(310), SIGINT}});
  EXPECT_EQ(r.exit_code, 130);
}

TEST_F(RobustnessTest, TimeoutStopsABlockStuckInADownload) {
  httplib::Server server;
  server.Get("/slow.csv", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/csv", [](size_t offset, httplib::DataSink& sink) {
      if (offset == 0) sink.write("a\n", 2);
      std::this_thread::sleep_for(milliseconds(100));  // then a trickle, forever
      return sink.is_writable();
    });
  });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { server.listen_after_bind(); });
  project_.Write("data_loaders/load.sql", "SELECT * FROM read_csv('http://127.0.0.1:" +
                                              std::to_string(port) + "/slow.csv')");
  Pipeline("blocks:\n- {uuid: load, type: data_loader, language: sql, timeout: 1}\n");
  milliseconds elapsed{};
  ProcessResult r = RunP({}, {}, &elapsed);
  server.stop();
  thread.join();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("block 'load' timed out after 1 s"));
  EXPECT_LT(elapsed, seconds(10));
}

TEST_F(RobustnessTest, UnwritableDataDirIsRefusedBeforeAnyBlockRuns) {
  project_.Write("data_loaders/load.sql", "SELECT 1 AS x");
  Pipeline(
      "blocks:\n- uuid: load\n  type: data_loader\n  language: sql\n"
      "  configuration: {data_provider_table: t, export_write_policy: replace}\n");
  ProcessResult r =
      project_.Kiln({"run", project_.root().string(), "p", "--data-dir", "/proc/kiln"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("cannot create or write this folder"));
  EXPECT_FALSE(std::filesystem::exists(project_.root() / "warehouse.duckdb"));
}

TEST_F(RobustnessTest, TwoRunsOnOneWarehouseTakeTurnsInsteadOfFailing) {
  // Holds the warehouse for about a second (an aggregate DuckDB cannot shortcut).
  project_.Write("data_loaders/slow.sql",
                 "SELECT sum(hash(range)) % 7 AS n FROM range(150000000) t");
  Pipeline(
      "blocks:\n- uuid: slow\n  type: data_loader\n  language: sql\n"
      "  configuration: {data_provider_table: t, export_write_policy: append}\n");
  ProcessResult first, second;
  std::thread a([&] { first = RunP(); });
  std::this_thread::sleep_for(milliseconds(150));
  std::thread b([&] {
    second = project_.Kiln({"run", project_.root().string(), "p", "--data-dir",
                            (project_.data_dir() / "second").string()});
  });
  a.join();
  b.join();
  EXPECT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_THAT(second.err, HasSubstr("waiting for DuckDB warehouse"));
  EXPECT_EQ(project_.WarehouseValue("SELECT count(*) FROM main.t"), "2");
}

TEST_F(RobustnessTest, ConditionalsAreRefusedRatherThanSkipped) {
  project_.Write("data_loaders/a.sql", "SELECT 1");
  project_.Write("conditionals/only_weekdays.py",
                 "@condition\ndef f(*a, **k):\n    return False\n");
  Pipeline(R"(blocks:
- {uuid: a, type: data_loader, language: sql}
conditionals:
- {uuid: only_weekdays, type: conditional, upstream_blocks: [a]}
)");
  ProcessResult r = RunP();
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("block 'only_weekdays' (python conditional): conditional blocks "
                               "are not supported yet"));
}

TEST_F(RobustnessTest, UuidsThatShareAStorageFolderAreRejected) {
  project_.Write("data_loaders/x/y.sql", "SELECT 1");
  project_.Write("data_loaders/x_y.sql", "SELECT 2");
  Pipeline(
      "blocks:\n- {uuid: x/y, type: data_loader, language: sql}\n"
      "- {uuid: x_y, type: data_loader, language: sql}\n");
  ProcessResult r = RunP();
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("block 'x_y' would share its output folder and log file 'x_y' "
                               "with block 'x/y'"));
}

TEST_F(RobustnessTest, MisconfiguredExportFailsBeforeAnyStatementRuns) {
  std::string target = (project_.root() / "written.csv").string();
  project_.Write("data_exporters/e.sql", "COPY (SELECT 1 AS x) TO '" + target + "'");
  Pipeline(
      "blocks:\n- uuid: e\n  type: data_exporter\n  language: sql\n"
      "  configuration: {data_provider_table: t}\n");
  ProcessResult r = RunP();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("sets data_provider_table 't' but its SQL has no SELECT"));
  EXPECT_FALSE(std::filesystem::exists(target));
}

TEST_F(RobustnessTest, UpstreamBlocksMustBeAList) {
  project_.Write("data_loaders/a.sql", "SELECT 1");
  Pipeline("blocks:\n- {uuid: a, type: data_loader, language: sql, upstream_blocks: b}\n");
  ProcessResult r = RunP();
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("metadata.yaml:2: block 'a': upstream_blocks must be a list"));
}

TEST_F(RobustnessTest, EmptyPipelineFileIsAnError) {
  Pipeline("");
  ProcessResult r = RunP();
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("the pipeline file is empty"));
}

TEST_F(RobustnessTest, SummarizeAndPivotCanBeABlocksOutput) {
  project_.Write("data_loaders/a.sql", "SELECT range % 3 AS k, range AS v FROM range(9)");
  project_.Write("transformers/s.sql", "SUMMARIZE SELECT * FROM {{ df_1 }}");
  project_.Write("transformers/p.sql",
                 "CREATE TEMP TABLE src AS SELECT * FROM {{ df_1 }};\nPIVOT src ON k USING sum(v)");
  Pipeline(R"(blocks:
- {uuid: a, type: data_loader, language: sql}
- {uuid: s, type: transformer, language: sql, upstream_blocks: [a]}
- uuid: p
  type: transformer
  language: sql
  upstream_blocks: [a]
  configuration: {data_provider_table: pivoted, export_write_policy: replace}
)");
  ProcessResult r = RunP();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(project_.WarehouseValue("SELECT \"0\" + \"1\" + \"2\" FROM main.pivoted"), "36");
  EXPECT_THAT(r.out, ::testing::ContainsRegex("s +completed +2 "));  // one row per column
}

TEST_F(RobustnessTest, BlockOutputOfABlockThatIsNotUpstreamIsAClearError) {
  project_.Write("data_loaders/a.sql", "SELECT 1 AS x");
  project_.Write("data_loaders/b.sql", "SELECT * FROM {{ block_output('a') }}");
  Pipeline(
      "blocks:\n- {uuid: a, type: data_loader, language: sql}\n"
      "- {uuid: b, type: data_loader, language: sql}\n");
  ProcessResult r = RunP();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("block_output('a'): that block is not upstream of this one"));
}

TEST_F(RobustnessTest, UrlInANonSelectStatementGetsKilnsHintNotDuckDbsInstallAdvice) {
  project_.Write("data_exporters/e.sql",
                 "COPY (SELECT * FROM read_csv('https://example.invalid/x.csv')) TO '/tmp/x.csv'");
  Pipeline("blocks:\n- {uuid: e, type: data_exporter, language: sql}\n");
  ProcessResult r = RunP();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("Kiln downloads URLs itself only in SELECT statements"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("INSTALL")));
}

TEST_F(RobustnessTest, VerbosePrintsTheRenderedSql) {
  project_.Write("data_loaders/a.sql", "SELECT {{ 40 + 2 }} AS answer");
  Pipeline("blocks:\n- {uuid: a, type: data_loader, language: sql}\n");
  ProcessResult r = RunP({"--verbose"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("SELECT 42 AS answer"));
}

TEST_F(RobustnessTest, ErrorLinesPointIntoTheBlockFile) {
  project_.Write("data_loaders/a.sql", "-- header\nSELECT 1 AS x;\n\nSELECT *\nFORM nowhere\n");
  Pipeline("blocks:\n- {uuid: a, type: data_loader, language: sql}\n");
  ProcessResult r = RunP();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("block 'a': data_loaders/a.sql:5: Parser Error: syntax error at "
                               "or near \"nowhere\""));
}

}  // namespace
}  // namespace kiln::testing
