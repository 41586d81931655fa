// Pipeline runs kept in the metadata store by the real `kiln` binary: `kiln run` records each
// run and its block runs, `kiln runs` lists them, and a run whose process was killed with
// SIGKILL is resumed by `kiln run --resume` without running its completed blocks again.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include "kiln/common/files.h"
#include "support/kiln_project.h"

namespace kiln::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr const char* kGuards = R"(if 'data_loader' not in globals():
    from mage_ai.data_preparation.decorators import data_loader
if 'transformer' not in globals():
    from mage_ai.data_preparation.decorators import transformer
)";

class StoredRunsTest : public ::testing::Test {
 protected:
  StoredRunsTest() {
    // The loader counts its executions in a file next to the project.
    project_.Write("data_loaders/load.py", std::string(kGuards) + R"(
import pandas as pd
from mage_ai.settings.repo import get_repo_path

@data_loader
def load(*args, **kwargs):
    with open(get_repo_path() + '/load_count.txt', 'a') as f:
        f.write('x\n')
    return pd.DataFrame({'id': [1, 2, 3]})
)");
    project_.Write("transformers/slow.py", std::string(kGuards) + R"(
import os, time
from mage_ai.settings.repo import get_repo_path

@transformer
def slow(df, *args, **kwargs):
    marker = get_repo_path() + '/slow_started.txt'
    if not os.path.exists(marker):  # the first attempt hangs until the process is killed
        open(marker, 'w').close()
        time.sleep(120)
    return df[df['id'] > 1]
)");
    project_.Write("pipelines/p/metadata.yaml", R"(blocks:
- {uuid: load, type: data_loader, language: python}
- {uuid: slow, type: transformer, language: python, upstream_blocks: [load]}
)");
  }
  ProcessResult Runs(std::vector<std::string> more = {}) const {
    std::vector<std::string> args = {"runs", project_.root().string(), "--data-dir",
                                     project_.data_dir().string()};
    args.insert(args.end(), more.begin(), more.end());
    return project_.Kiln(args);
  }
  KilnProject project_;
};

TEST_F(StoredRunsTest, EveryRunIsRecordedWithItsBlockRunsAndListedNewestFirst) {
  project_.Write("slow_started.txt", "");  // no hang
  ASSERT_EQ(project_.Run("p").exit_code, 0);
  ProcessResult second = project_.Run("p", {"--execution-date", "2021-01-05"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_THAT(second.err, HasSubstr("pipeline run 2"));

  ProcessResult list = Runs();
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, MatchesRegex("(.|\n)*RUN +PIPELINE +STATUS +EXECUTION DATE(.|\n)*"));
  const size_t run2 = list.out.find("     2  p ");
  const size_t run1 = list.out.find("     1  p ");
  ASSERT_NE(run2, std::string::npos) << list.out;
  ASSERT_NE(run1, std::string::npos) << list.out;
  EXPECT_LT(run2, run1);  // newest first
  EXPECT_THAT(list.out, HasSubstr("completed  2021-01-05 00:00:00"));

  ProcessResult blocks = Runs({"2"});
  ASSERT_EQ(blocks.exit_code, 0) << blocks.err;
  EXPECT_THAT(blocks.out, HasSubstr("Pipeline run 2 of p: completed (execution_date 2021-01-05"));
  EXPECT_THAT(blocks.out, MatchesRegex("(.|\n)*load +completed(.|\n)* 3\n(.|\n)*"));
  EXPECT_THAT(blocks.out, MatchesRegex("(.|\n)*slow +completed(.|\n)* 2\n(.|\n)*"));
}

TEST_F(StoredRunsTest, AFailedBlockKeepsItsErrorInTheStore) {
  project_.Write("transformers/slow.py", std::string(kGuards) + R"(
@transformer
def slow(df, *args, **kwargs):
    raise ValueError('bad row 7')
)");
  EXPECT_EQ(project_.Run("p").exit_code, 1);
  ProcessResult blocks = Runs({"1"});
  EXPECT_THAT(blocks.out, HasSubstr("Pipeline run 1 of p: failed"));
  EXPECT_THAT(blocks.out, HasSubstr("slow: block 'slow' failed: ValueError: bad row 7"));
  EXPECT_THAT(Runs({"--status", "failed"}).out, HasSubstr("     1  p "));
  EXPECT_THAT(Runs({"--status", "completed"}).out, HasSubstr("No pipeline runs"));
  EXPECT_THAT(Runs({"--status", "done"}).err, HasSubstr("--status 'done' is not one of"));
}

TEST_F(StoredRunsTest, AKilledRunResumesWithoutRunningItsCompletedBlocksAgain) {
  // SIGKILL while `slow` hangs: `load` completed and was committed as completed.
  ProcessResult killed = project_.Kiln(
      {"run", project_.root().string(), "p", "--data-dir", project_.data_dir().string()}, {},
      {{std::chrono::milliseconds(10000), SIGKILL}});
  ASSERT_EQ(killed.exit_code, 128 + SIGKILL) << killed.err;
  ASSERT_TRUE(std::filesystem::exists(project_.root() / "slow_started.txt")) << killed.err;
  EXPECT_THAT(Runs().out, HasSubstr("running"));  // as the dead process left it

  ProcessResult resumed = project_.Run("p", {"--resume", "1"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_THAT(resumed.err, HasSubstr("pipeline run 1 (resumed)"));
  EXPECT_EQ(ReadFile(project_.root() / "load_count.txt"), "x\n");  // load ran once
  EXPECT_THAT(ReadFile(project_.data_dir() / "pipelines/p/.logs/load.log"),
              HasSubstr("completed in an earlier attempt of this run"));
  ProcessResult blocks = Runs({"1"});
  EXPECT_THAT(blocks.out, HasSubstr("Pipeline run 1 of p: completed"));
  EXPECT_THAT(blocks.out, MatchesRegex("(.|\n)*slow +completed(.|\n)* 2\n(.|\n)*"));
  EXPECT_EQ(KilnProject::Value("SELECT count(*) FROM read_parquet('" +
                               (project_.OutputDir("p", "slow") / "data.parquet").string() + "')"),
            "2");
}

TEST_F(StoredRunsTest, ResumeRefusesACompletedRunAnotherPipelineOrNewVariables) {
  project_.Write("slow_started.txt", "");
  ASSERT_EQ(project_.Run("p").exit_code, 0);
  EXPECT_THAT(project_.Run("p", {"--resume", "1"}).err,
              HasSubstr("--resume: pipeline run 1 is already completed"));
  EXPECT_THAT(project_.Run("p", {"--resume", "9"}).err, HasSubstr("--resume: no pipeline run 9"));
  project_.Write("pipelines/q/metadata.yaml",
                 "blocks:\n- {uuid: load, type: data_loader, "
                 "language: python}\n");
  EXPECT_THAT(project_.Run("q", {"--resume", "1"}).err,
              HasSubstr("pipeline run 1 is a run of pipeline 'p', not 'q'"));
  EXPECT_THAT(Runs({"7"}).err, HasSubstr("no pipeline run 7"));
}

}  // namespace
}  // namespace kiln::testing
