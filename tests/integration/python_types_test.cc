// DataFrames crossing blocks: every pandas dtype Kiln promises (nullable Int64, int64, float64,
// bool/boolean, object strings with None/NaN, datetime64 with and without tz, dates,
// categoricals, a kept index), empty frames and frames without columns, from Python to Python
// and through a SQL block in between, through the real `kiln` binary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kiln/common/files.h"
#include "support/kiln_project.h"

namespace kiln::testing {
namespace {

using ::testing::HasSubstr;

constexpr const char* kGuards = R"(if 'data_loader' not in globals():
    from mage_ai.data_preparation.decorators import data_loader
if 'transformer' not in globals():
    from mage_ai.data_preparation.decorators import transformer
)";

// The frame every test starts from; `expected()` rebuilds it in the consuming block. Timestamps
// are kept to the microsecond (DuckDB's and PostgreSQL's precision; docs/python-blocks.md).
constexpr const char* kFrame = R"(
import datetime
import numpy as np
import pandas as pd

def expected():
    return pd.DataFrame({
        'i64n': pd.array([1, None, -3], dtype='Int64'),
        'i64': np.array([1, 2, 2**62], dtype='int64'),
        'f64': [1.5, np.nan, -3.25],
        'b': [True, False, True],
        'bn': pd.array([True, None, False], dtype='boolean'),
        's': ['a', None, 'zürich'],
        's_nan': ['x', np.nan, ''],
        'ts': pd.to_datetime(['2021-01-01 00:15:56.123456', None, '1999-12-31 23:59:59']),
        'tstz': pd.to_datetime(['2021-01-01 00:15:56', None, '2021-06-01 12:00:00'], utc=True),
        'd': [datetime.date(2021, 1, 1), None, datetime.date(1970, 1, 1)],
        'cat': pd.Categorical(['x', 'y', 'x']),
    })
)";

class PythonTypesTest : public ::testing::Test {
 protected:
  void Write(const std::string& path, const std::string& code) {
    project_.Write(path, std::string(kGuards) + kFrame + code);
  }
  std::string Output(const std::string& pipeline, const std::string& block,
                     const std::string& file) const {
    return ReadFile(project_.OutputDir(pipeline, block) / file);
  }
  KilnProject project_;
};

TEST_F(PythonTypesTest, EveryDtypeRoundTripsBetweenPythonBlocks) {
  Write("data_loaders/make.py", R"(
@data_loader
def load(*args, **kwargs):
    return expected()
)");
  Write("transformers/check.py", R"(
@transformer
def check(df, *args, **kwargs):
    want = expected()
    assert dict(df.dtypes.astype(str)) == dict(want.dtypes.astype(str)), dict(df.dtypes.astype(str))
    pd.testing.assert_frame_equal(df, want)
    assert df['s'][1] is None
    return {'checked': len(df)}
)");
  project_.Write("pipelines/p/metadata.yaml", R"(blocks:
- {uuid: make, type: data_loader, language: python}
- {uuid: check, type: transformer, language: python, upstream_blocks: [make]}
)");
  ProcessResult r = project_.Run("p");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json types = nlohmann::json::parse(Output("p", "make", "data_column_types.json"));
  EXPECT_EQ(types["i64n"], "Int64");
  EXPECT_EQ(types["i64"], "int64");
  EXPECT_EQ(types["bn"], "boolean");
  EXPECT_EQ(types["s"], "str");
  EXPECT_EQ(types["tstz"], "datetime64[ns, UTC]");
  EXPECT_EQ(types["cat"], "category");
  // The Parquet file holds real types and NULLs, for SQL blocks and any other reader.
  std::string parquet = (project_.OutputDir("p", "make") / "data.parquet").string();
  EXPECT_EQ(KilnProject::Value("SELECT string_agg(column_name || ':' || column_type, ',') FROM "
                               "(DESCRIBE SELECT * FROM read_parquet('" +
                               parquet + "'))"),
            "i64n:BIGINT,i64:BIGINT,f64:DOUBLE,b:BOOLEAN,bn:BOOLEAN,s:VARCHAR,s_nan:VARCHAR,"
            "ts:TIMESTAMP,tstz:TIMESTAMP WITH TIME ZONE,d:DATE,cat:VARCHAR");
  EXPECT_EQ(KilnProject::Value("SELECT count(*) FILTER (WHERE i64n IS NULL) + count(*) FILTER "
                               "(WHERE s_nan IS NULL) + count(*) FILTER (WHERE ts IS NULL) FROM "
                               "read_parquet('" +
                               parquet + "')"),
            "3");
}

TEST_F(PythonTypesTest, TypesSurviveAPythonSqlPythonPipeline) {
  Write("data_loaders/make.py", R"(
@data_loader
def load(*args, **kwargs):
    return expected()
)");
  project_.Write("transformers/through.sql", "SELECT * FROM {{ df_1 }} WHERE i64 > 0");
  Write("transformers/check.py", R"(
@transformer
def check(df, *args, **kwargs):
    want = expected()
    # A SQL block's output carries SQL types: integers become nullable Int64, booleans
    # nullable boolean, categoricals text; values and NULLs are the same.
    want['i64'] = want['i64'].astype('Int64')
    want['b'] = want['b'].astype('boolean')
    want['cat'] = want['cat'].astype(object)
    got = dict(df.dtypes.astype(str))
    assert got == dict(want.dtypes.astype(str)), got
    pd.testing.assert_frame_equal(df, want)
    return df
)");
  project_.Write("pipelines/p/metadata.yaml", R"(blocks:
- {uuid: make, type: data_loader, language: python}
- {uuid: through, type: transformer, language: sql, upstream_blocks: [make]}
- {uuid: check, type: transformer, language: python, upstream_blocks: [through]}
)");
  ProcessResult r = project_.Run("p");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("check "));
}

TEST_F(PythonTypesTest, AFilteredFramesIndexIsKeptAndANamedIndexToo) {
  Write("data_loaders/make.py", R"(
@data_loader
def load(*args, **kwargs):
    df = expected()
    return df[df['i64'] > 1], df.set_index('s_nan')
)");
  Write("transformers/check.py", R"(
@transformer
def check(outputs, *args, **kwargs):
    filtered, named = outputs
    assert list(filtered.index) == [1, 2], filtered.index
    assert named.index.name == 's_nan' and list(named.index) == ['x', None, ''], named.index
    return filtered.reset_index()
)");
  project_.Write("pipelines/p/metadata.yaml", R"(blocks:
- {uuid: make, type: data_loader, language: python}
- {uuid: check, type: transformer, language: python, upstream_blocks: [make]}
)");
  ProcessResult r = project_.Run("p");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(KilnProject::Value("SELECT string_agg(\"index\"::VARCHAR, ',') FROM read_parquet('" +
                               (project_.OutputDir("p", "check") / "data.parquet").string() + "')"),
            "1,2");
}

TEST_F(PythonTypesTest, EmptyFramesAndFramesWithoutColumnsCross) {
  Write("data_loaders/make.py", R"(
@data_loader
def load(*args, **kwargs):
    return expected().iloc[0:0], pd.DataFrame(), pd.DataFrame(index=range(4))
)");
  Write("transformers/check.py", R"(
@transformer
def check(outputs, *args, **kwargs):
    empty, nothing, rows_only = outputs
    assert len(empty) == 0 and list(empty.columns) == list(expected().columns)
    assert dict(empty.dtypes.astype(str)) == dict(expected().dtypes.astype(str))
    assert nothing.shape == (0, 0), nothing.shape
    assert rows_only.shape == (4, 0), rows_only.shape
    return {'ok': True}
)");
  project_.Write("pipelines/p/metadata.yaml", R"(blocks:
- {uuid: make, type: data_loader, language: python}
- {uuid: check, type: transformer, language: python, upstream_blocks: [make]}
)");
  ProcessResult r = project_.Run("p");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST_F(PythonTypesTest, ValuesThatAreNotFramesAreStoredAsMagesJson) {
  Write("data_loaders/make.py", R"(
@data_loader
def load(*args, **kwargs):
    return ({'when': datetime.datetime(2021, 1, 1, 8, 30), 'n': np.int64(7), 'nan': float('nan'),
             'tags': {'a', 'b'} and ['a'], 'nested': {'x': [1, 2.5, None]}},
            [1, 'two', None], 3.5, 'text', True)
)");
  Write("transformers/check.py", R"(
@transformer
def check(values, *args, **kwargs):
    record, items, number, text, flag = values
    # read back as Mage reads data.json: datetimes are ISO strings, NaN is None
    assert record == {'when': '2021-01-01T08:30:00', 'n': 7, 'nan': None, 'tags': ['a'],
                      'nested': {'x': [1, 2.5, None]}}, record
    assert items == [1, 'two', None] and number == 3.5 and text == 'text' and flag is True
    return None
)");
  project_.Write("pipelines/p/metadata.yaml", R"(blocks:
- {uuid: make, type: data_loader, language: python}
- {uuid: check, type: transformer, language: python, upstream_blocks: [make]}
)");
  ProcessResult r = project_.Run("p");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(ReadFile(project_.OutputDir("p", "make", 1) / "type.json"), R"({"type":"iterable"})");
  EXPECT_EQ(ReadFile(project_.OutputDir("p", "make", 0) / "type.json"), R"({"type":null})");
}

}  // namespace
}  // namespace kiln::testing
