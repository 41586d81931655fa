// Python blocks through the real `kiln` binary and its kiln-python host: Mage's execution
// semantics (decorators, arguments, kwargs, outputs, @test), the mage_ai package, and every way
// a block can fail (syntax error, exception, failed test, segfault, timeout, sys.exit) without
// taking the run down.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "kiln/common/files.h"
#include "support/kiln_project.h"

namespace kiln::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kGuards = R"(if 'data_loader' not in globals():
    from mage_ai.data_preparation.decorators import data_loader
if 'transformer' not in globals():
    from mage_ai.data_preparation.decorators import transformer
if 'data_exporter' not in globals():
    from mage_ai.data_preparation.decorators import data_exporter
if 'custom' not in globals():
    from mage_ai.data_preparation.decorators import custom
if 'test' not in globals():
    from mage_ai.data_preparation.decorators import test
)";

class PythonBlocksTest : public ::testing::Test {
 protected:
  //! Writes <folder>/<uuid>.py with the decorator guards prepended.
  void Block(const std::string& path, const std::string& code) {
    project_.Write(path, std::string(kGuards) + code);
  }
  void Pipeline(const std::string& blocks_yaml) {
    project_.Write("pipelines/p/metadata.yaml", "uuid: p\nblocks:\n" + blocks_yaml);
  }
  ProcessResult Run(std::vector<std::string> more = {}) { return project_.Run("p", more); }
  std::string Log(const std::string& block) const {
    return ReadFile(project_.data_dir() / "pipelines/p/.logs" / (block + ".log"));
  }
  std::string Output(const std::string& block, int index, const std::string& file) const {
    return ReadFile(project_.OutputDir("p", block, index) / file);
  }
  std::string ParquetValue(const std::string& block, const std::string& select) const {
    return KilnProject::Value(select + " FROM read_parquet('" +
                              (project_.OutputDir("p", block) / "data.parquet").string() + "')");
  }

  KilnProject project_;
};

TEST_F(PythonBlocksTest, ArgumentsFollowUpstreamOrderAndOutputsSplitAsMageDoes) {
  Block("data_loaders/numbers.py", R"(
import pandas as pd

@data_loader
def load(*args, **kwargs):
    return pd.DataFrame({'n': [1, 2, 3]})
)");
  Block("data_loaders/words.py", R"(
@data_loader
def load(*args, **kwargs):
    return {'greeting': 'hello'}, [1, 2]
)");
  Block("transformers/combine.py", R"(
@transformer
def transform(numbers, words, *args, **kwargs):
    # one argument per upstream block; an upstream with two outputs gives a list
    assert list(numbers['n']) == [1, 2, 3], numbers
    assert words == [{'greeting': 'hello'}, [1, 2]], words
    assert df_1 is numbers and df_2 is words
    print('combined', numbers['n'].sum(), words[0]['greeting'])
    return numbers.assign(doubled=numbers['n'] * 2), 'a note'
)");
  Pipeline(R"(- {uuid: numbers, type: data_loader, language: python}
- {uuid: words, type: data_loader, language: python}
- {uuid: combine, type: transformer, language: python, upstream_blocks: [numbers, words]}
)");
  ProcessResult r = Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(Log("combine"), HasSubstr("combined 6 hello"));
  EXPECT_EQ(ParquetValue("combine", "SELECT sum(doubled)"), "12");
  EXPECT_EQ(Output("combine", 1, "data.json"), "\"a note\"");
  EXPECT_THAT(Output("words", 0, "data.json"), HasSubstr("\"greeting\""));
  EXPECT_THAT(Output("words", 1, "type.json"), HasSubstr("iterable"));
  EXPECT_THAT(Output("combine", 0, "type.json"), HasSubstr("dataframe"));
}

TEST_F(PythonBlocksTest, KwargsCarryVariablesExecutionDateAndNames) {
  Block("custom/show.py", R"(
@custom
def show(*args, **kwargs):
    d = kwargs['execution_date']
    kwargs['logger'].info('seen %s %s %s %s', kwargs['pipeline_uuid'], kwargs['block_uuid'],
                          kwargs['city'], kwargs['limit'])
    return {'date': d.isoformat(), 'ds': kwargs['ds'], 'hr': kwargs['hr'], 'env': kwargs['env'],
            'repo_path': kwargs['repo_path'], 'attempt': kwargs['retry']['attempts'],
            'configuration': kwargs['configuration']}
)");
  project_.Write("pipelines/p/metadata.yaml", R"(uuid: p
variables:
  city: Lisbon
  limit: 3
blocks:
- {uuid: show, type: custom, language: python, configuration: {answer: 42}}
)");
  ProcessResult r =
      Run({"--execution-date", "2021-01-15T07:00:00", "--runtime-vars", R"({"limit": 10})"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json out = nlohmann::json::parse(Output("show", 0, "data.json"));
  EXPECT_EQ(out["date"], "2021-01-15T07:00:00");
  EXPECT_EQ(out["ds"], "2021-01-15");
  EXPECT_EQ(out["hr"], "07");
  EXPECT_EQ(out["env"], "dev");
  EXPECT_EQ(out["attempt"], 1);
  EXPECT_EQ(out["configuration"]["answer"], 42);
  EXPECT_EQ(out["repo_path"], project_.root().string());
  EXPECT_THAT(Log("show"), HasSubstr("seen p show Lisbon 10"));
}

TEST_F(PythonBlocksTest, ProjectModulesImportFromTheProjectAndItsParent) {
  project_.Write("utils/__init__.py", "");
  project_.Write("utils/helpers.py", "def triple(x):\n    return 3 * x\n");
  Block("data_loaders/load.py", R"(
from utils.helpers import triple
from project.utils.helpers import triple as triple_again

@data_loader
def load(*args, **kwargs):
    return {'value': triple(2) + triple_again(1)}
)");
  Pipeline("- {uuid: load, type: data_loader, language: python}\n");
  ProcessResult r = Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(nlohmann::json::parse(Output("load", 0, "data.json"))["value"], 9);
}

TEST_F(PythonBlocksTest, TestsRunOnTheOutputsAndOnlyAssertionErrorsCountAsFailures) {
  Block("data_loaders/load.py", R"(
import pandas as pd

@data_loader
def load(*args, **kwargs):
    return pd.DataFrame({'n': [1, 2, 3]})

@test
def test_has_three(output, *args):
    assert len(output) == 3

@test
def test_has_four(output, *args):
    assert len(output) == 4, 'expected four items'
)");
  Pipeline("- {uuid: load, type: data_loader, language: python}\n");
  ProcessResult r = Run();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("Failed to pass tests for block load"));
  std::string log = Log("load");
  EXPECT_THAT(log, HasSubstr("FAIL: test_has_four (block: load)"));
  EXPECT_THAT(log, HasSubstr("AssertionError: expected four items"));
  EXPECT_THAT(log, HasSubstr("1/2 tests passed."));
}

TEST_F(PythonBlocksTest, ArityAndMissingDecoratorErrorsUseMagesWording) {
  Block("transformers/t.py", R"(
@transformer
def transform(a, b, *args, **kwargs):
    return a
)");
  Block("data_loaders/l.py", "def load():\n    return 1\n");
  Pipeline(R"(- {uuid: l, type: data_loader, language: python}
- {uuid: t, type: transformer, language: python, upstream_blocks: []}
)");
  ProcessResult r = Run();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("Block l does not have any decorated functions"));
  EXPECT_THAT(r.out, HasSubstr("may be missing upstream dependencies"));
}

TEST_F(PythonBlocksTest, EveryFailureFailsItsBlockWithAClearMessageAndTheRunGoesOn) {
  Block("custom/syntax.py", "@custom\ndef f(*args):\n    return (1,\n\nx = = 2\n");
  Block("custom/raises.py", R"(
def helper():
    raise ValueError('bad row 17')

@custom
def f(*args, **kwargs):
    helper()
)");
  Block("custom/segfault.py", R"(
import ctypes

@custom
def f(*args, **kwargs):
    ctypes.string_at(0)
)");
  Block("custom/exits.py", R"(
import sys

@custom
def f(*args, **kwargs):
    sys.exit(3)
)");
  Block("custom/spins.py", R"(
@custom
def f(*args, **kwargs):
    while True:
        pass
)");
  Block("custom/fine.py", R"(
@custom
def f(*args, **kwargs):
    return {'ok': True}
)");
  Pipeline(R"(- {uuid: syntax, type: custom, language: python}
- {uuid: raises, type: custom, language: python}
- {uuid: segfault, type: custom, language: python}
- {uuid: exits, type: custom, language: python}
- {uuid: spins, type: custom, language: python, timeout: 1}
- {uuid: fine, type: custom, language: python}
)");
  ProcessResult r = Run({"--parallel", "2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("SyntaxError"));
  EXPECT_THAT(r.out, HasSubstr("syntax.py, line 13"));  // 10 lines of guards come first
  EXPECT_THAT(r.out, HasSubstr("ValueError: bad row 17"));
  EXPECT_THAT(Log("raises"), HasSubstr("in helper"));  // the traceback is in the block log
  EXPECT_THAT(Log("raises"), HasSubstr("line 13, in helper"));
  EXPECT_THAT(Log("raises"), Not(HasSubstr("kiln_runtime")));  // only the block's own frames
  EXPECT_THAT(r.out, HasSubstr("killed by signal 11 (Segmentation fault)"));
  EXPECT_THAT(r.out, HasSubstr("exited with status 3"));
  EXPECT_THAT(r.out, HasSubstr("timed out"));
  EXPECT_EQ(nlohmann::json::parse(Output("fine", 0, "data.json"))["ok"], true);
}

TEST_F(PythonBlocksTest, BlockRunLimitRunsIndependentBlocksOneAtATime) {
  for (const char* name : {"a", "b", "c"}) {
    Block(std::string("custom/") + name + ".py", R"(
import time

@custom
def f(*args, **kwargs):
    start = time.time()
    time.sleep(0.3)
    return {'start': start, 'end': time.time()}
)");
  }
  project_.Write("pipelines/p/metadata.yaml", R"(uuid: p
concurrency_config: {block_run_limit: 1}
blocks:
- {uuid: a, type: custom, language: python}
- {uuid: b, type: custom, language: python}
- {uuid: c, type: custom, language: python}
)");
  ProcessResult r = Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<std::pair<double, double>> spans;
  for (const char* name : {"a", "b", "c"}) {
    nlohmann::json v = nlohmann::json::parse(Output(name, 0, "data.json"));
    spans.emplace_back(v["start"].get<double>(), v["end"].get<double>());
  }
  std::sort(spans.begin(), spans.end());
  EXPECT_LE(spans[0].second, spans[1].first);  // never two at once
  EXPECT_LE(spans[1].second, spans[2].first);
}

TEST_F(PythonBlocksTest, AMageAiModuleKilnLacksIsNamedInTheError) {
  Block("data_loaders/bq.py", R"(
from mage_ai.io.snowflake import Snowflake

@data_loader
def load(*args, **kwargs):
    return 1
)");
  Pipeline("- {uuid: bq, type: data_loader, language: python}\n");
  ProcessResult r = Run();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("No module named 'mage_ai.io.snowflake': Kiln's mage_ai does not "
                               "provide it yet"));
}

TEST_F(PythonBlocksTest, VariablesSecretsAndFilesThroughMageAi) {
  Block("data_loaders/write.py", R"(
import pandas as pd
from mage_ai.data_preparation.variable_manager import set_global_variable
from mage_ai.data_preparation.shared.secrets import get_secret_value
from mage_ai.io.file import FileIO

@data_loader
def load(*args, **kwargs):
    set_global_variable('p', 'last_run', 'yes')
    set_global_variable('p', 'count', 3)
    df = pd.DataFrame({'a': [1, 2], 'b': ['x', None]})
    FileIO().export(df, kwargs['repo_path'] + '/out.csv')
    return {'secret': get_secret_value('MY_TOKEN')}
)");
  Block("transformers/read.py", R"(
from mage_ai.data_preparation.variable_manager import get_variable
from mage_ai.io.file import FileIO

@transformer
def transform(data, *args, **kwargs):
    df = FileIO().load(kwargs['repo_path'] + '/out.csv')
    stored = get_variable('p', 'write', 'output_0')
    return {'rows': len(df), 'b': df['b'].tolist()[0], 'stored': stored}
)");
  Pipeline(R"(- {uuid: write, type: data_loader, language: python}
- {uuid: read, type: transformer, language: python, upstream_blocks: [write]}
)");
  ProcessResult r = project_.Kiln(
      {"run", project_.root().string(), "p", "--data-dir", project_.data_dir().string()},
      {{"MY_TOKEN", "s3cr3t"}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json out = nlohmann::json::parse(Output("read", 0, "data.json"));
  EXPECT_EQ(out["rows"], 2);
  EXPECT_EQ(out["b"], "x");
  EXPECT_EQ(out["stored"]["secret"], "s3cr3t");
  std::string metadata = ReadFile(project_.root() / "pipelines/p/metadata.yaml");
  EXPECT_THAT(metadata, HasSubstr("last_run: \"yes\""));  // stays a string for PyYAML
  EXPECT_THAT(metadata, HasSubstr("count: 3"));
}

}  // namespace
}  // namespace kiln::testing
