// Frames between DuckDB and pandas (python/frame.h, python/embedded/frame_numpy.h): every dtype
// a Mage block hands over, both ways, with NULLs; the real taxi sample; malformed frames.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pybind11/embed.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include "kiln/data/duckdb.h"
#include "kiln/python/embedded/frame_numpy.h"
#include "kiln/python/frame.h"
#include "kiln/python/frame_layout.h"

namespace kiln::python {
namespace {

namespace py = pybind11;
using nlohmann::json;

//! One interpreter for the whole test binary (CPython with numpy cannot be re-initialised), with
//! Debian's Python even when another python3 comes first on PATH.
void EnsurePython() {
  if (Py_IsInitialized()) return;
  ::unsetenv("PYTHONHOME");
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.parse_argv = 0;
  const char* argv[] = {"/usr/bin/python3"};
  py::initialize_interpreter(&config, 1, argv, false);
}

std::filesystem::path TestData(const std::string& name) {
  const char* dir = std::getenv("KILN_TEST_DATA");
  return std::filesystem::path(dir ? dir : KILN_TEST_DATA_DEFAULT) / name;
}

//! The pandas dtypes of the seed's load_api_data block (../shared/seeds/001_...txt).
constexpr const char* kSeedRead = R"PY(
taxi_dtypes = {
    'VendorID': pd.Int64Dtype(), 'passenger_count': pd.Int64Dtype(), 'trip_distance': float,
    'RatecodeID': pd.Int64Dtype(), 'store_and_fwd_flag': str, 'PULocationID': pd.Int64Dtype(),
    'DOLocationID': pd.Int64Dtype(), 'payment_type': pd.Int64Dtype(), 'fare_amount': float,
    'extra': float, 'mta_tax': float, 'tip_amount': float, 'tolls_amount': float,
    'improvement_surcharge': float, 'total_amount': float, 'congestion_surcharge': float}
parse_dates = ['tpep_pickup_datetime', 'tpep_dropoff_datetime']
df = pd.read_csv(path, sep=',', compression='gzip', dtype=taxi_dtypes, parse_dates=parse_dates)
)PY";

class FrameTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EnsurePython();
    scope_ = py::dict();
    py::exec("import datetime, json, math, mmap, numpy as np, pandas as pd", scope_);
  }

  //! DuckDB -> frame -> DataFrame; the DataFrame is `df` in the Python scope.
  FrameInfo ToPandas(const std::string& relation, const json& dtypes = nullptr,
                     const json& index = nullptr) {
    auto [fd, info] = WriteFrame(duck_, relation, dtypes, index);
    scope_["df"] = FrameToDataFrame(fd.get());
    return info;
  }
  //! Runs `code`, which builds `df`, then DataFrame -> frame -> the DuckDB table `table`.
  FrameInfo FromPandas(const std::string& code, const std::string& table) {
    py::exec(code, scope_);
    UniqueFd fd(DataFrameToFrame(scope_["df"]));
    return ReadFrameIntoTable(fd.get(), duck_, table);
  }
  //! Runs Python assertions about `df` (and anything else in scope).
  void ExpectPython(const std::string& code) {
    try {
      py::exec(code, scope_);
    } catch (const py::error_already_set& e) {
      ADD_FAILURE() << e.what() << "\nin:\n" << code;
    }
  }
  std::string Value(const std::string& sql) {
    return duck_.Query(sql).GetString(0, 0).value_or("NULL");
  }
  //! "name TYPE, ..." of a DuckDB table.
  std::string Schema(const std::string& table) {
    data::Result r = duck_.Query(
        "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY "
        "ordinal_position) FROM information_schema.columns WHERE "
        "table_name = '" +
        table + "'");
    return r.GetString(0, 0).value_or("");
  }

  data::Database db_;
  data::Connection duck_{db_};
  py::object scope_;  //!< the globals of the Python snippets (a dict once Python runs)
};

// ---- DuckDB -> pandas -> DuckDB, one dtype at a time -----------------------------------------

TEST_F(FrameTest, NullableInt64RoundTripsWithItsNulls) {
  ToPandas("(SELECT * FROM (VALUES (1), (NULL), (-5), (9223372036854775807)) t(a))");
  ExpectPython(R"PY(
assert str(df['a'].dtype) == 'Int64', df.dtypes
assert df['a'].isna().tolist() == [False, True, False, False]
assert df['a'][0] == 1 and df['a'][2] == -5 and df['a'][3] == 2**63 - 1
)PY");
  FromPandas("df = df", "back");
  EXPECT_EQ(Schema("back"), "a BIGINT");
  EXPECT_EQ(Value("SELECT string_agg(coalesce(a::VARCHAR, 'NULL'), ',') FROM back"),
            "1,NULL,-5,9223372036854775807");
}

TEST_F(FrameTest, Int64WithoutNullsIsNumpyInt64OverTheMappingWithoutACopy) {
  ToPandas("range(5) t(a)", json{{"a", "int64"}});
  ExpectPython(R"PY(
a = df['a'].values
assert a.dtype == np.int64 and a.tolist() == [0, 1, 2, 3, 4]
base = a
while isinstance(base, np.ndarray) and base.base is not None:
    base = base.base
owner = base.obj if isinstance(base, memoryview) else base
assert isinstance(owner, mmap.mmap), type(owner)
a[0] = 42  # copy-on-write: writable, as pandas arrays are
assert df['a'][0] == 42
)PY");
}

TEST_F(FrameTest, SmallAndUnsignedIntegersWidenToInt64) {
  ToPandas(
      "(SELECT -1::TINYINT a, 300::SMALLINT b, 70000::INTEGER c, 255::UTINYINT d, "
      "4000000000::UINTEGER e)");
  ExpectPython(R"PY(
assert all(str(t) == 'Int64' for t in df.dtypes), df.dtypes
assert df.iloc[0].tolist() == [-1, 300, 70000, 255, 4000000000]
)PY");
}

TEST_F(FrameTest, Float64NullBecomesNaNAndNaNBecomesNull) {
  ToPandas("(SELECT * FROM (VALUES (1.5::DOUBLE), (NULL), (-0.25)) t(x))");
  ExpectPython(R"PY(
assert df['x'].dtype == np.float64
assert df['x'][0] == 1.5 and math.isnan(df['x'][1]) and df['x'][2] == -0.25
)PY");
  FromPandas("df = pd.DataFrame({'x': [1.5, np.nan, float('inf')]})", "back");
  EXPECT_EQ(Schema("back"), "x DOUBLE");
  EXPECT_EQ(Value("SELECT count(*) FILTER (x IS NULL) || ' ' || max(x) FROM back"), "1 inf");
}

TEST_F(FrameTest, BoolAndNullableBooleanRoundTrip) {
  ToPandas("(SELECT * FROM (VALUES (true, true), (false, NULL)) t(b, nb))", json{{"b", "bool"}});
  ExpectPython(R"PY(
assert df['b'].dtype == np.bool_ and df['b'].tolist() == [True, False]
assert str(df['nb'].dtype) == 'boolean' and df['nb'][0] == True and df['nb'].isna()[1]
)PY");
  FromPandas("df = df", "back");
  EXPECT_EQ(Schema("back"), "b BOOLEAN, nb BOOLEAN");
  EXPECT_EQ(Value("SELECT string_agg(b || '/' || coalesce(nb::VARCHAR, 'NULL'), ',') FROM back"),
            "true/true,false/NULL");
}

TEST_F(FrameTest, StringsKeepNoneAndNaNAsNull) {
  ToPandas("(SELECT * FROM (VALUES ('taxi'), (NULL), ('Ünïcödé ✓'), ('')) t(s))");
  ExpectPython(R"PY(
assert df['s'].dtype == object
assert df['s'].tolist() == ['taxi', None, 'Ünïcödé ✓', '']
)PY");
  FromPandas("df = pd.DataFrame({'s': ['a', None, np.nan, 'é', '']})", "back");
  EXPECT_EQ(Schema("back"), "s VARCHAR");
  EXPECT_EQ(Value("SELECT string_agg(coalesce(s, 'NULL'), '|') FROM back"), "a|NULL|NULL|é|");
}

TEST_F(FrameTest, TimestampsKeepNaTAsNull) {
  ToPandas(
      "(SELECT * FROM (VALUES (TIMESTAMP '2021-01-01 00:30:10.123456'), (NULL), "
      "(TIMESTAMP '1960-05-01 12:00:00')) t(ts))");
  ExpectPython(R"PY(
assert str(df['ts'].dtype) == 'datetime64[ns]'
assert df['ts'][0] == pd.Timestamp('2021-01-01 00:30:10.123456') and df['ts'][1] is pd.NaT
assert df['ts'][2] == pd.Timestamp('1960-05-01 12:00:00')
)PY");
  FromPandas("df = df", "back");
  EXPECT_EQ(Schema("back"), "ts TIMESTAMP");
  EXPECT_EQ(Value("SELECT string_agg(coalesce(ts::VARCHAR, 'NULL'), ',') FROM back"),
            "2021-01-01 00:30:10.123456,NULL,1960-05-01 12:00:00");
}

TEST_F(FrameTest, TimezoneAwareTimestampsStayTheSameInstants) {
  ToPandas("(SELECT * FROM (VALUES (TIMESTAMPTZ '2021-01-01 05:00:00+00'), (NULL)) t(ts))");
  ExpectPython(R"PY(
assert str(df['ts'].dtype) == 'datetime64[ns, UTC]', df.dtypes
assert df['ts'][0] == pd.Timestamp('2021-01-01 05:00', tz='UTC') and df['ts'][1] is pd.NaT
)PY");
  FrameInfo info = FromPandas(R"PY(
df = pd.DataFrame({'ts': pd.to_datetime(['2021-01-01 00:00', None]).tz_localize('America/New_York')})
)PY",
                              "back");
  EXPECT_EQ(info.columns[0].tz, "America/New_York");
  EXPECT_EQ(info.columns[0].pandas_dtype, "datetime64[ns, America/New_York]");
  EXPECT_EQ(Schema("back"), "ts TIMESTAMP WITH TIME ZONE");
  EXPECT_EQ(Value("SELECT epoch(ts)::BIGINT || ' ' || count(*) OVER () FROM back LIMIT 1"),
            "1609477200 2");
  // And the zone comes back on the Python side.
  UniqueFd fd(DataFrameToFrame(scope_["df"]));
  scope_["df2"] = FrameToDataFrame(fd.get());
  ExpectPython(
      "assert str(df2['ts'].dtype) == 'datetime64[ns, America/New_York]'\n"
      "assert df2['ts'].equals(df['ts'])");
}

TEST_F(FrameTest, DatesBecomeDateObjectsAndComeBackAsDate) {
  ToPandas("(SELECT * FROM (VALUES (DATE '2021-01-31'), (NULL), (DATE '1900-02-28')) t(d))");
  ExpectPython(R"PY(
assert df['d'].dtype == object
assert df['d'].tolist() == [datetime.date(2021, 1, 31), None, datetime.date(1900, 2, 28)]
)PY");
  FromPandas("df = df", "back");
  EXPECT_EQ(Schema("back"), "d DATE");
  EXPECT_EQ(Value("SELECT string_agg(coalesce(d::VARCHAR, 'NULL'), ',') FROM back"),
            "2021-01-31,NULL,1900-02-28");
}

TEST_F(FrameTest, CategoricalsTravelAsTextAndComeBackAsCategory) {
  FrameInfo info =
      FromPandas("df = pd.DataFrame({'flag': pd.Categorical(['N', 'Y', None, 'N'])})", "back");
  EXPECT_EQ(info.columns[0].pandas_dtype, "category");
  EXPECT_EQ(Schema("back"), "flag VARCHAR");
  EXPECT_EQ(Value("SELECT string_agg(coalesce(flag, 'NULL'), ',') FROM back"), "N,Y,NULL,N");
  ToPandas("back", json{{"flag", "category"}});
  ExpectPython(R"PY(
assert str(df['flag'].dtype) == 'category'
assert df['flag'].tolist()[:2] == ['N', 'Y'] and df['flag'].isna().tolist() == [False, False, True, False]
)PY");
  ToPandas("(SELECT 'b'::ENUM ('a', 'b') AS e)");
  ExpectPython("assert str(df['e'].dtype) == 'category' and df['e'][0] == 'b'");
}

TEST_F(FrameTest, DictsAndListsTravelAsJson) {
  FromPandas(
      "df = pd.DataFrame({'j': [{'a': 1, 'b': [1, 2]}, None, [1, 'x'], {'n': float('nan')}]})",
      "back");
  EXPECT_EQ(Schema("back"), "j JSON");
  EXPECT_EQ(Value("SELECT string_agg(coalesce(j::VARCHAR, 'NULL'), '|') FROM back"),
            R"({"a": 1, "b": [1, 2]}|NULL|[1, "x"]|{"n": null})");
  ToPandas("back");
  ExpectPython("assert df['j'].tolist() == [{'a': 1, 'b': [1, 2]}, None, [1, 'x'], {'n': None}]");
  ToPandas("(SELECT {'k': 1, 'v': [1, 2]} AS s, [1, NULL] AS l, MAP {'x': 1} AS m)");
  ExpectPython("assert df.iloc[0].tolist() == [{'k': 1, 'v': [1, 2]}, [1, None], {'x': 1}]");
}

TEST_F(FrameTest, DuckdbTypesWithoutAFrameKindArriveAsTextOrFloat) {
  ToPandas(
      "(SELECT '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID u, INTERVAL 1 DAY i, "
      "TIME '12:34:56' t, 12.345::DECIMAL(10, 3) d, 170141183460469231731687303715884105727::"
      "HUGEINT h, 1.5::FLOAT f, 18446744073709551615::UBIGINT ub, NULL n)");
  ExpectPython(R"PY(
r = df.iloc[0]
assert (r['u'], r['i'], r['t']) == ('6ba7b810-9dad-11d1-80b4-00c04fd430c8', '1 day', '12:34:56'), r
assert df['d'].dtype == np.float64 and r['d'] == 12.345, r
assert df['h'].dtype == np.float64 and r['h'] == 2.0**127, r
assert str(df['f'].dtype) == 'float32' and r['f'] == 1.5, df.dtypes
assert df['ub'].dtype == np.float64 and r['ub'] == 2.0**64, df.dtypes  # too big for Int64
assert df['n'].isna().all(), df['n']  # an untyped NULL
)PY");
}

TEST_F(FrameTest, PandasDtypesChooseEachColumnsDtype) {
  // As Mage's data_column_types.json names them: Python type names mean object columns.
  ToPandas("(SELECT 1::BIGINT a, 2::BIGINT b, 'x' c, 1.5::DOUBLE d, 7::BIGINT e)",
           json{{"a", "int64"}, {"b", "float64"}, {"c", "str"}, {"d", "Float64"}, {"e", "int"}});
  ExpectPython(R"PY(
assert [str(t) for t in df.dtypes] == ['int64', 'float64', 'object', 'Float64', 'object'], df.dtypes
assert df['e'][0] == 7 and type(df['e'][0]) is int
)PY");
}

TEST_F(FrameTest, TimestampsOutsidePandasRangeFailNamingTheColumn) {
  try {
    WriteFrame(duck_, "(SELECT TIMESTAMP '3000-01-01' AS far)", nullptr, nullptr);
    FAIL() << "expected a FrameError";
  } catch (const FrameError& e) {
    EXPECT_NE(std::string(e.what()).find("column \"far\""), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("datetime64[ns] range"), std::string::npos);
  }
}

TEST_F(FrameTest, EveryKindRoundTripsBetweenDuckdbTablesWithoutPython) {
  duck_.Execute(R"SQL(CREATE TABLE src AS SELECT * FROM (VALUES
    (1::BIGINT, 0.5::DOUBLE, true, 'a', '{"k": [1]}'::JSON, TIMESTAMP '1969-12-31 23:59:59.999999',
     TIMESTAMPTZ '2021-01-01 00:00:00+00', DATE '1969-12-31'),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)) t(i, f, b, s, j, ts, tz, d))SQL");
  auto [fd, info] = WriteFrame(duck_, "src", nullptr, nullptr);
  std::string kinds;
  for (const FrameColumnInfo& c : info.columns) kinds += c.kind + " ";
  EXPECT_EQ(kinds, "int64 float64 bool string json timestamp timestamp date ");
  ReadFrameIntoTable(fd.get(), duck_, "dst");
  EXPECT_EQ(Schema("dst"), Schema("src"));
  EXPECT_EQ(Value("SELECT count(*) FROM (SELECT * FROM src EXCEPT ALL SELECT * FROM dst)"), "0");
  EXPECT_EQ(Value("SELECT count(*) FROM dst WHERE i IS NULL AND j IS NULL AND ts IS NULL"), "1");
}

TEST_F(FrameTest, AnIndexNamingAMissingColumnFailsBeforeTheScan) {
  EXPECT_THROW(
      WriteFrame(duck_, "range(3)", nullptr, json{{"columns", {"nope"}}, {"names", {nullptr}}}),
      FrameError);
}

// ---- pandas -> DuckDB: what DataFrames hold ----------------------------------------------------

TEST_F(FrameTest, NumpyAndNullableDtypesMapToTheirKinds) {
  FrameInfo info = FromPandas(R"PY(
df = pd.DataFrame({
    'i8': np.array([1, 2], dtype='int8'), 'u4': np.array([1, 4000000000], dtype='uint32'),
    'i64': pd.array([None, 5], dtype='Int64'), 'u8': pd.array([1, None], dtype='UInt8'),
    'f32': np.array([0.5, np.nan], dtype='float32'), 'F64': pd.array([None, 2.5], dtype='Float64'),
    'td': pd.to_timedelta(['1s', None]), 'b': [True, False], 'nb': pd.array([None, True])})
)PY",
                              "back");
  EXPECT_EQ(Schema("back"),
            "i8 BIGINT, u4 BIGINT, i64 BIGINT, u8 BIGINT, f32 DOUBLE, F64 DOUBLE, td BIGINT, "
            "b BOOLEAN, nb BOOLEAN");
  EXPECT_EQ(Value("SELECT string_agg(concat_ws('/', i8, u4, i64, u8, f32, F64, td, b, nb), ',') "
                  "FROM back"),
            "1/1/1/0.5/1000000000/true,2/4000000000/5/2.5/false/true");
  std::string dtypes;
  for (const FrameColumnInfo& c : info.columns) dtypes += c.pandas_dtype + " ";
  EXPECT_EQ(dtypes, "int8 uint32 Int64 UInt8 float32 Float64 timedelta64[ns] bool boolean ");
  UniqueFd fd(DataFrameToFrame(scope_["df"]));
  scope_["df2"] = FrameToDataFrame(fd.get());
  ExpectPython("assert df2.dtypes.equals(df.dtypes), df2.dtypes\nassert df2.equals(df)");
}

TEST_F(FrameTest, ObjectColumnsAreTypedByTheirValues) {
  FromPandas(R"PY(
df = pd.DataFrame({
    'ints': [1, None, 3], 'floats': [1, 2.5, None], 'bools': [True, None, False],
    'dates': [datetime.date(2021, 1, 1), None, datetime.date(2021, 1, 3)],
    'times': [datetime.datetime(2021, 1, 1, 5), None, datetime.datetime(2021, 1, 2)],
    'mixed': ['a', 1, None]}, dtype=object)
)PY",
             "back");
  EXPECT_EQ(Schema("back"),
            "ints BIGINT, floats DOUBLE, bools BOOLEAN, dates DATE, times TIMESTAMP, "
            "mixed VARCHAR");
  EXPECT_EQ(Value("SELECT string_agg(concat_ws('/', ints, floats, bools, dates, times, mixed), "
                  "',') FROM back"),
            "1/1.0/true/2021-01-01/2021-01-01 05:00:00/a,2.5/1,3/false/2021-01-03/2021-01-02 "
            "00:00:00");
  UniqueFd fd(DataFrameToFrame(scope_["df"]));
  scope_["df2"] = FrameToDataFrame(fd.get());
  ExpectPython(R"PY(
assert all(t == object for t in df2.dtypes), df2.dtypes
assert df2['ints'].tolist() == [1, None, 3] and df2['bools'].tolist() == [True, None, False]
assert df2['dates'].tolist() == df['dates'].tolist() and df2['mixed'].tolist() == ['a', '1', None]
)PY");
}

TEST_F(FrameTest, NamedIndexIsRestored) {
  FrameInfo info = FromPandas(
      "df = pd.DataFrame({'fare': [8.0, 3.0]}, index=pd.Index([10, 20], name='trip_id'))", "back");
  EXPECT_EQ(info.index.dump(), R"({"columns":["trip_id"],"names":["trip_id"]})");
  EXPECT_EQ(Schema("back"), "fare DOUBLE, trip_id BIGINT");
  ToPandas("back", nullptr, info.index);
  ExpectPython(R"PY(
assert df.index.name == 'trip_id' and df.index.tolist() == [10, 20] and df.index.dtype == np.int64
assert list(df.columns) == ['fare'] and df['fare'].tolist() == [8.0, 3.0]
)PY");
}

TEST_F(FrameTest, FilteredDataFrameKeepsItsSparseIndex) {
  FrameInfo info = FromPandas(R"PY(
df = pd.DataFrame({'passenger_count': [1, 0, 2, 0, 3]})
df = df[df['passenger_count'] > 0]
)PY",
                              "back");
  EXPECT_EQ(info.index.dump(), R"({"columns":["__index_level_0__"],"names":[null]})");
  ToPandas("back", nullptr, info.index);
  ExpectPython(R"PY(
assert df.index.tolist() == [0, 2, 4] and df.index.name is None, df.index
assert list(df.columns) == ['passenger_count'] and df['passenger_count'].tolist() == [1, 2, 3]
)PY");
}

TEST_F(FrameTest, MultiIndexAndDatetimeIndexAreRestored) {
  py::exec(R"PY(
df = pd.DataFrame({'v': [1.0, 2.0]},
                  index=pd.MultiIndex.from_tuples([('a', pd.Timestamp('2021-01-01')),
                                                   ('b', pd.Timestamp('2021-01-02'))],
                                                  names=['zone', None]))
)PY",
           scope_);
  UniqueFd fd(DataFrameToFrame(scope_["df"]));
  scope_["df2"] = FrameToDataFrame(fd.get());
  ExpectPython("assert df2.equals(df) and df2.index.names == ['zone', None], df2");
}

TEST_F(FrameTest, EmptyFramesKeepTheirColumnsAndDtypes) {
  ToPandas("(SELECT 1::BIGINT a, 'x' s, TIMESTAMP '2021-01-01' t, 1.0::DOUBLE f LIMIT 0)");
  ExpectPython(R"PY(
assert df.shape == (0, 4)
assert [str(t) for t in df.dtypes] == ['Int64', 'object', 'datetime64[ns]', 'float64'], df.dtypes
)PY");
  FrameInfo info = FromPandas("df = df", "back");
  EXPECT_EQ(info.rows, 0u);
  EXPECT_EQ(Schema("back"), "a BIGINT, s VARCHAR, t TIMESTAMP, f DOUBLE");
  EXPECT_EQ(Value("SELECT count(*) FROM back"), "0");
}

TEST_F(FrameTest, FramesWithoutColumnsKeepTheirRowsButMakeNoTable) {
  py::exec("df = pd.DataFrame(index=range(3))", scope_);
  UniqueFd fd(DataFrameToFrame(scope_["df"]));
  EXPECT_TRUE(ReadFrameInfo(fd.get()).columns.empty());
  scope_["df2"] = FrameToDataFrame(fd.get());
  ExpectPython("assert df2.shape == (3, 0) and df2.index.equals(pd.RangeIndex(3))");
  EXPECT_THROW(ReadFrameIntoTable(fd.get(), duck_, "nothing"), FrameError);
  EXPECT_EQ(Value("SELECT count(*) FROM information_schema.tables WHERE table_name = 'nothing'"),
            "0");
}

TEST_F(FrameTest, NonStringColumnNamesBecomeStrings) {
  FromPandas("df = pd.DataFrame({0: [1], 1.5: [2], ('a', 'b'): [3]})", "back");
  EXPECT_EQ(Schema("back"), "0 BIGINT, 1.5 BIGINT, ('a', 'b') BIGINT");
}

TEST_F(FrameTest, DuplicateColumnNamesRaiseMagesValueError) {
  py::exec("df = pd.DataFrame([[1, 2]], columns=['a', 'a'])", scope_);
  try {
    DataFrameToFrame(scope_["df"]);
    FAIL() << "expected ValueError";
  } catch (const py::value_error& e) {
    EXPECT_STREQ(e.what(), "Please do not use duplicate column name: \"a\"");
  }
  py::exec("df = pd.DataFrame([[1, 2]], columns=[1, '1'])", scope_);
  EXPECT_THROW(DataFrameToFrame(scope_["df"]), py::value_error);
}

TEST_F(FrameTest, UnrepresentableColumnRaisesTypeErrorNamingIt) {
  py::exec("df = pd.DataFrame({'hash': np.array([2**64 - 1], dtype='uint64')})", scope_);
  try {
    DataFrameToFrame(scope_["df"]);
    FAIL() << "expected TypeError";
  } catch (const py::type_error& e) {
    EXPECT_NE(std::string(e.what()).find("column \"hash\""), std::string::npos) << e.what();
  }
}

TEST_F(FrameTest, FramesAreSealedMemfds) {
  auto [fd, info] = WriteFrame(duck_, "range(3)", nullptr, nullptr);
  const int seals = fcntl(fd.get(), F_GET_SEALS);
  EXPECT_EQ(seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
            F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  EXPECT_EQ(pwrite(fd.get(), "x", 1, 0), -1);
  py::exec("df = pd.DataFrame({'a': [1]})", scope_);
  UniqueFd from_python(DataFrameToFrame(scope_["df"]));
  EXPECT_NE(fcntl(from_python.get(), F_GET_SEALS) & F_SEAL_WRITE, 0);
}

// ---- Malformed frames ---------------------------------------------------------------------------

//! A memfd holding `bytes`, sealed when `seal`.
UniqueFd FrameFile(const std::string& bytes, bool seal = true) {
  UniqueFd fd(memfd_create("test-frame", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  EXPECT_EQ(write(fd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  if (seal) layout::SealFrameFile(fd.get());
  return fd;
}

//! A valid one-column frame (string column "s": "ab", NULL) with `edit` applied to its bytes.
std::string EditedFrame(const std::function<void(std::string&, const layout::Plan&)>& edit) {
  layout::Plan plan = layout::PlanFrame(
      2, {layout::ColumnPlan{{"s", "", "object", ""}, layout::Kind::kString, true, 2}}, nullptr);
  std::string file(plan.file_bytes, '\0');
  std::string prefix(layout::kMagic, 8);
  for (int i = 0; i < 8; ++i) prefix += static_cast<char>(plan.header.size() >> (8 * i));
  file.replace(0, 16 + plan.header.size(), prefix + plan.header);
  const layout::Column& c = plan.layout.columns[0];
  const int64_t offsets[] = {0, 2, 2};
  file.replace(c.offsets->offset, 24, reinterpret_cast<const char*>(offsets), 24);
  file.replace(c.data.offset, 2, "ab");
  file[c.validity->offset] = 1;
  edit(file, plan);
  return file;
}

TEST_F(FrameTest, WellFormedTestFrameReads) {
  UniqueFd fd = FrameFile(EditedFrame([](std::string&, const layout::Plan&) {}));
  ReadFrameIntoTable(fd.get(), duck_, "ok");
  EXPECT_EQ(Value("SELECT string_agg(coalesce(s, 'NULL'), ',') FROM ok"), "ab,NULL");
}

TEST_F(FrameTest, MalformedFramesFailCleanlyOnBothSides) {
  using Edit = std::function<void(std::string&, const layout::Plan&)>;
  const std::vector<std::pair<std::string, Edit>> cases = {
      {"no KLNFRM01 magic", [](std::string& f, const layout::Plan&) { f[0] = 'X'; }},
      {"header length exceeds", [](std::string& f, const layout::Plan&) { f[15] = '\x7f'; }},
      {"header is not JSON", [](std::string& f, const layout::Plan&) { f[16] = '['; }},
      {"outside the frame", [](std::string& f, const layout::Plan&) { f.resize(f.size() - 64); }},
      {"offsets decrease",
       [](std::string& f, const layout::Plan& p) {
         const int64_t bad = 99;
         f.replace(p.layout.columns[0].offsets->offset + 8, 8, reinterpret_cast<const char*>(&bad),
                   8);
       }},
      {"not valid UTF-8",
       [](std::string& f, const layout::Plan& p) { f[p.layout.columns[0].data.offset] = '\xff'; }},
  };
  for (const auto& [message, edit] : cases) {
    UniqueFd fd = FrameFile(EditedFrame(edit));
    try {
      ReadFrameIntoTable(fd.get(), duck_, "bad");
      ADD_FAILURE() << "no FrameError for " << message;
    } catch (const FrameError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
    try {
      FrameToDataFrame(fd.get());
      ADD_FAILURE() << "no ValueError for " << message;
    } catch (const py::value_error& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(Value("SELECT count(*) FROM information_schema.tables WHERE table_name = 'bad'"), "0");
}

TEST_F(FrameTest, UnsealedFramesAreSealedBeforeTheRunnerReadsThem) {
  UniqueFd fd = FrameFile(EditedFrame([](std::string&, const layout::Plan&) {}), false);
  ReadFrameIntoTable(fd.get(), duck_, "ok");
  EXPECT_NE(fcntl(fd.get(), F_GET_SEALS) & F_SEAL_WRITE, 0);
  // A regular file cannot be sealed: the runner refuses it rather than risk a truncation.
  FILE* tmp = std::tmpfile();
  EXPECT_THROW(ReadFrameIntoTable(fileno(tmp), duck_, "plain"), FrameError);
  std::fclose(tmp);
}

// ---- The real taxi sample ---------------------------------------------------------------------

constexpr const char* kTaxiFacts =
    "SELECT count(*), count(VendorID), count(passenger_count), sum(total_amount)::DECIMAL(18,2), "
    "sum(trip_distance)::DECIMAL(18,2), min(tpep_pickup_datetime), max(tpep_dropoff_datetime), "
    "count(DISTINCT store_and_fwd_flag), sum(congestion_surcharge)::DECIMAL(18,2) FROM ";

std::string Facts(data::Connection& duck, const std::string& table) {
  data::Result r = duck.Query(std::string(kTaxiFacts) + table);
  std::string out;
  for (uint64_t c = 0; c < r.column_count(); ++c) out += r.GetString(c, 0).value_or("NULL") + " ";
  return out;
}

TEST_F(FrameTest, TaxiSampleRoundTripsExactly) {
  duck_.Execute("CREATE TABLE taxi AS SELECT * FROM read_csv('" +
                TestData("yellow_tripdata_2021-01.sample.csv.gz").string() + "')");
  ToPandas("taxi");
  ExpectPython(R"PY(
assert df.shape == (22792, 18), df.shape
assert str(df['VendorID'].dtype) == 'Int64' and str(df['tpep_pickup_datetime'].dtype) == 'datetime64[ns]'
assert df['store_and_fwd_flag'].dtype == object and df['total_amount'].dtype == np.float64
total = round(df['total_amount'].sum(), 2)
)PY");
  FromPandas("df = df", "back");
  EXPECT_EQ(Facts(duck_, "back"), Facts(duck_, "taxi"));
  EXPECT_EQ(Value("SELECT count(*) FROM (SELECT * FROM taxi EXCEPT ALL SELECT * FROM back)"), "0");
  EXPECT_EQ(Value("SELECT round(sum(total_amount), 2) FROM taxi"),
            py::str(scope_["total"]).cast<std::string>());
}

TEST_F(FrameTest, SeedsPandasReadingGivesTheSameRowsAsDuckdb) {
  scope_["path"] = TestData("yellow_tripdata_2021-01.sample.csv.gz").string();
  FromPandas(kSeedRead, "from_pandas");
  EXPECT_EQ(Schema("from_pandas"),
            "VendorID BIGINT, tpep_pickup_datetime TIMESTAMP, tpep_dropoff_datetime TIMESTAMP, "
            "passenger_count BIGINT, trip_distance DOUBLE, RatecodeID BIGINT, "
            "store_and_fwd_flag VARCHAR, PULocationID BIGINT, DOLocationID BIGINT, "
            "payment_type BIGINT, fare_amount DOUBLE, extra DOUBLE, mta_tax DOUBLE, "
            "tip_amount DOUBLE, tolls_amount DOUBLE, improvement_surcharge DOUBLE, "
            "total_amount DOUBLE, congestion_surcharge DOUBLE");
  duck_.Execute("CREATE TABLE from_duckdb AS SELECT * FROM read_csv('" +
                scope_["path"].cast<std::string>() + "')");
  EXPECT_EQ(Facts(duck_, "from_pandas"), Facts(duck_, "from_duckdb"));
  EXPECT_EQ(Value("SELECT count(*) FROM (SELECT * FROM from_duckdb EXCEPT ALL "
                  "SELECT * FROM from_pandas)"),
            "0");
}

// ---- Measurement
// ----------------------------------------------------------------------------------

}  // namespace
}  // namespace kiln::python
