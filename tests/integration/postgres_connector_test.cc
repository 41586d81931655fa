// The PostgreSQL connector (src/kiln/connectors/postgres/postgres.h) against a real PostgreSQL
// server: binary COPY both ways for every type, Mage's column names, the write policies, atomic
// replace under readers and failures, and clear connection errors.
#include "kiln/connectors/postgres/postgres.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/postgres_server.h"
#include "support/process.h"

namespace kiln::testing {
namespace {

namespace pg = kiln::connectors::postgres;
using kiln::connectors::ExportWritePolicy;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// The same rows in DuckDB, with every exported type, the last one NULL in every column.
constexpr const char* kEveryType = R"sql(
CREATE TABLE every_type (
  id INTEGER, b BOOLEAN, ti TINYINT, si SMALLINT, i INTEGER, bi BIGINT, ut UTINYINT,
  us USMALLINT, ui UINTEGER, ub UBIGINT, hi HUGEINT, f FLOAT, d DOUBLE, amount DECIMAL(10,2),
  v VARCHAR, dt DATE, ts TIMESTAMP, ts_s TIMESTAMP_S, ts_ms TIMESTAMP_MS, ts_ns TIMESTAMP_NS,
  tstz TIMESTAMPTZ, tm TIME, ttz TIMETZ, iv INTERVAL, u UUID, bl BLOB, j JSON,
  st STRUCT(x INTEGER, y VARCHAR), li INTEGER[], mp MAP(VARCHAR, INTEGER), en ENUM('red', 'green'));
INSERT INTO every_type VALUES
  (1, true, -128, -32768, -2147483648, -9223372036854775808, 255, 65535, 4294967295,
   9223372036854775807, -170141183460469231731687303715884105727, 1.5, 0.1, -12345678.91,
   'Zoë "quoted", tab	and newline
end', DATE '2021-01-02', TIMESTAMP '2021-01-01 00:15:56.123456', TIMESTAMP_S '1999-12-31 23:59:59',
   TIMESTAMP_MS '1969-07-20 20:17:40.123', TIMESTAMP_NS '2021-01-01 00:15:56.123456789',
   TIMESTAMPTZ '2021-06-30 22:00:00.000001+00', TIME '12:34:56.789012', TIMETZ '12:34:56+05:30',
   INTERVAL '1 year 2 months 3 days 04:05:06.789', UUID 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
   '\xDE\xAD\xBE\xEF'::BLOB, '{"a": [1, "two"]}', {'x': 1, 'y': 'a'}, [1, 2, NULL],
   MAP {'k': 1}, 'green'),
  (2, false, 127, 32767, 2147483647, 9223372036854775807, 0, 0, 0, 0, 0, -0.25, -1e300, 0.01,
   '', DATE '1900-02-28', TIMESTAMP '1850-06-15 12:00:00', TIMESTAMP_S '2000-01-01 00:00:00',
   TIMESTAMP_MS '2000-01-01 00:00:00.001', TIMESTAMP_NS '1999-12-31 23:59:59.999999999',
   TIMESTAMPTZ '1901-01-01 00:00:00+00', TIME '00:00:00', TIMETZ '00:00:01-08',
   INTERVAL '-1 day -00:00:00.000001', UUID '00000000-0000-0000-0000-000000000000', ''::BLOB,
   '[]', {'x': NULL, 'y': NULL}, [], MAP {}, 'red'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
)sql";

class PostgresConnectorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<PostgresServer>(); }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    db_ = server_->CreateDatabase("pgconn");
    pg_ = pg::Connection::Open(Settings());
  }

  pg::ConnectionSettings Settings() const {
    pg::ConnectionSettings s;
    s.host = server_->host();
    s.port = server_->port();
    s.dbname = db_;
    s.user = server_->user();
    s.password = server_->password();
    return s;
  }
  std::string Psql(const std::string& sql) const { return server_->Psql(db_, sql); }
  std::string Duck(const std::string& sql) {
    return duck_conn_.Query(sql).GetString(0, 0).value_or("NULL");
  }
  pg::ExportResult Export(const std::string& relation, const std::string& table,
                          ExportWritePolicy policy = ExportWritePolicy::kReplace) {
    pg::ExportOptions options;
    options.table = table;
    options.policy = policy;
    return pg::ExportRelation(duck_conn_, relation, *pg_, options);
  }
  //! Exports `relation` and returns the error text ("" when it succeeded).
  std::string ExportError(const std::string& relation, const pg::ExportOptions& options) {
    try {
      pg::ExportRelation(duck_conn_, relation, *pg_, options);
    } catch (const pg::PostgresError& e) {
      return e.what();
    }
    return "";
  }
  //! Column `column` of table `table`, one value per row in id order, NULL as "<null>".
  std::string PgColumn(const std::string& table, const std::string& column) {
    return Psql("SET TimeZone = 'UTC'; SELECT coalesce(" + column + "::text, '<null>') FROM " +
                table + " ORDER BY id");
  }
  std::string TablesLike(const std::string& pattern) {
    return Psql(
        "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE "
        "relnamespace = 'public'::regnamespace AND relname LIKE '" +
        pattern + "'");
  }

  static std::unique_ptr<PostgresServer> server_;
  std::string db_;
  std::unique_ptr<pg::Connection> pg_;
  data::Database duck_;
  data::Connection duck_conn_{duck_};
};

std::unique_ptr<PostgresServer> PostgresConnectorTest::server_;

std::string SamplePath() {
  return (TestDataDir() / "yellow_tripdata_2021-01.sample.csv.gz").string();
}

TEST(CleanColumnNameTest, FollowsMagesCleanNameAndReservedWordRule) {
  EXPECT_EQ(pg::CleanColumnName("VendorID"), "vendorid");
  EXPECT_EQ(pg::CleanColumnName("PULocationID"), "pulocationid");
  EXPECT_EQ(pg::CleanColumnName("Trip Distance (mi)"), "trip_distance__mi_");
  EXPECT_EQ(pg::CleanColumnName("2fast"), "letter_2fast");
  EXPECT_EQ(pg::CleanColumnName("select"), "_select");
  EXPECT_EQ(pg::CleanColumnName("Order"), "_order");
  EXPECT_EQ(pg::CleanColumnName("extra"), "extra");  // not in Mage's list
  EXPECT_EQ(pg::CleanColumnName("zone"), "_zone");   // the list's last word
  EXPECT_EQ(pg::CleanColumnName("a"), "_a");         // and its first
}

TEST(PostgresTypeForTest, MapsDuckDbTypesToTheTypesTheIssueNames) {
  EXPECT_EQ(pg::PostgresTypeFor("BIGINT"), "BIGINT");
  EXPECT_EQ(pg::PostgresTypeFor("UINTEGER"), "BIGINT");
  EXPECT_EQ(pg::PostgresTypeFor("UBIGINT"), "NUMERIC(39,0)");  // beyond bigint
  EXPECT_EQ(pg::PostgresTypeFor("TINYINT"), "SMALLINT");
  EXPECT_EQ(pg::PostgresTypeFor("DOUBLE"), "DOUBLE PRECISION");
  EXPECT_EQ(pg::PostgresTypeFor("DECIMAL(18,3)"), "NUMERIC(18,3)");
  EXPECT_EQ(pg::PostgresTypeFor("VARCHAR"), "TEXT");
  EXPECT_EQ(pg::PostgresTypeFor("TIMESTAMP_NS"), "TIMESTAMP");
  EXPECT_EQ(pg::PostgresTypeFor("TIMESTAMP WITH TIME ZONE"), "TIMESTAMPTZ");
  EXPECT_EQ(pg::PostgresTypeFor("BLOB"), "BYTEA");
  EXPECT_EQ(pg::PostgresTypeFor("STRUCT(a INTEGER, b VARCHAR[])"), "JSONB");
  EXPECT_EQ(pg::PostgresTypeFor("INTEGER[]"), "JSONB");
  EXPECT_EQ(pg::PostgresTypeFor("MAP(VARCHAR, INTEGER)"), "JSONB");
  EXPECT_EQ(pg::PostgresTypeFor("JSON"), "JSONB");
}

TEST_F(PostgresConnectorTest, EveryTypeRoundTripsWithNullsInEveryColumn) {
  duck_conn_.Execute(kEveryType);
  pg::ExportResult r = Export("every_type", "every_type");
  EXPECT_EQ(r.rows, 3u);
  EXPECT_EQ(r.qualified_table, "\"public\".\"every_type\"");

  const std::map<std::string, std::string> expected = {
      {"b", "true\nfalse\n<null>"},
      {"ti", "-128\n127\n<null>"},
      {"si", "-32768\n32767\n<null>"},
      {"i", "-2147483648\n2147483647\n<null>"},
      {"bi", "-9223372036854775808\n9223372036854775807\n<null>"},
      {"ut", "255\n0\n<null>"},
      {"us", "65535\n0\n<null>"},
      {"ui", "4294967295\n0\n<null>"},
      {"ub", "9223372036854775807\n0\n<null>"},
      {"hi", "-170141183460469231731687303715884105727\n0\n<null>"},
      {"f", "1.5\n-0.25\n<null>"},
      {"d", "0.1\n-1e+300\n<null>"},
      {"amount", "-12345678.91\n0.01\n<null>"},
      {"v", "Zoë \"quoted\", tab\tand newline\nend\n\n<null>"},
      {"dt", "2021-01-02\n1900-02-28\n<null>"},
      {"ts", "2021-01-01 00:15:56.123456\n1850-06-15 12:00:00\n<null>"},
      {"ts_s", "1999-12-31 23:59:59\n2000-01-01 00:00:00\n<null>"},
      {"ts_ms", "1969-07-20 20:17:40.123\n2000-01-01 00:00:00.001\n<null>"},
      {"ts_ns", "2021-01-01 00:15:56.123456\n1999-12-31 23:59:59.999999\n<null>"},
      {"tstz", "2021-06-30 22:00:00.000001+00\n1901-01-01 00:00:00+00\n<null>"},
      {"tm", "12:34:56.789012\n00:00:00\n<null>"},
      {"ttz", "12:34:56+05:30\n00:00:01-08\n<null>"},
      {"iv", "1 year 2 mons 3 days 04:05:06.789\n-1 days -00:00:00.000001\n<null>"},
      {"u", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\n00000000-0000-0000-0000-000000000000\n<null>"},
      {"bl", "\\xdeadbeef\n\\x\n<null>"},
      {"j", "{\"a\": [1, \"two\"]}\n[]\n<null>"},
      {"st", "{\"x\": 1, \"y\": \"a\"}\n{\"x\": null, \"y\": null}\n<null>"},
      {"li", "[1, 2, null]\n[]\n<null>"},
      {"mp", "{\"k\": 1}\n{}\n<null>"},
      {"en", "green\nred\n<null>"},
  };
  for (const auto& [column, values] : expected) {
    EXPECT_EQ(PgColumn("every_type", column), values) << column;
  }
  EXPECT_EQ(
      Psql("SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) "
           "FROM information_schema.columns WHERE table_name = 'every_type'"),
      "id integer, b boolean, ti smallint, si smallint, i integer, bi bigint, ut bigint, "
      "us bigint, ui bigint, ub numeric, hi numeric, f real, d double precision, "
      "amount numeric, v text, dt date, ts timestamp without time zone, ts_s timestamp "
      "without time zone, ts_ms timestamp without time zone, ts_ns timestamp without time "
      "zone, tstz timestamp with time zone, tm time without time zone, ttz time with time "
      "zone, iv interval, u uuid, bl bytea, j jsonb, st jsonb, li jsonb, mp jsonb, en text");
}

TEST_F(PostgresConnectorTest, OtherDuckDbTypesExportAsJsonOrTheirText) {
  duck_conn_.Execute(
      "CREATE TABLE other (id INTEGER, arr INTEGER[2], un UNION(n INTEGER, s VARCHAR), "
      "bits BIT, big BIGNUM, tns TIME_NS);"
      "INSERT INTO other VALUES (1, [1, 2], 'x'::VARCHAR, '0101'::BIT, "
      "'123456789012345678901234567890'::BIGNUM, '12:00:00.123456789'::TIME_NS), "
      "(2, NULL, NULL, NULL, NULL, NULL)");
  Export("other", "other");
  EXPECT_EQ(PgColumn("other", "arr"), "[1, 2]\n<null>");
  EXPECT_EQ(PgColumn("other", "un"), "{\"s\": \"x\"}\n<null>");
  EXPECT_EQ(PgColumn("other", "bits"), "0101\n<null>");
  EXPECT_EQ(PgColumn("other", "big"), "123456789012345678901234567890\n<null>");
  EXPECT_EQ(PgColumn("other", "tns"), "12:00:00.123457\n<null>");  // DuckDB's cast rounds
  EXPECT_EQ(Psql("SELECT string_agg(data_type, ', ' ORDER BY ordinal_position) FROM "
                 "information_schema.columns WHERE table_name = 'other'"),
            "integer, jsonb, jsonb, text, text, time without time zone");
}

TEST_F(PostgresConnectorTest, NumericsAreExactAtEveryScaleAndSign) {
  duck_conn_.Execute(
      "CREATE TABLE nums (id INTEGER, wide DECIMAL(38,10), frac DECIMAL(4,4), whole DECIMAL(18,0));"
      "INSERT INTO nums VALUES "
      "(1, 0, 0, 0), "
      "(2, -0.0001, 0.0001, -1), "
      "(3, 0.0001, -0.9999, 10000), "
      "(4, 12345678901234567890.1234567890, 0.5, 100000000), "
      "(5, 9999999999999999999999999999.9999999999, 0.0010, -999999999999999999), "
      "(6, -9999999999999999999999999999.9999999999, NULL, 999999999999999999), "
      "(7, -1.5, -0.0001, 123456789012345678)");
  Export("nums", "nums");
  EXPECT_EQ(PgColumn("nums", "wide"),
            "0.0000000000\n-0.0001000000\n0.0001000000\n12345678901234567890.1234567890\n"
            "9999999999999999999999999999.9999999999\n-9999999999999999999999999999.9999999999\n"
            "-1.5000000000");
  EXPECT_EQ(PgColumn("nums", "frac"), "0.0000\n0.0001\n-0.9999\n0.5000\n0.0010\n<null>\n-0.0001");
  EXPECT_EQ(PgColumn("nums", "whole"),
            "0\n-1\n10000\n100000000\n-999999999999999999\n999999999999999999\n"
            "123456789012345678");
  // And back: every value equal to the DuckDB original.
  pg::LoadQuery(*pg_, "SELECT * FROM nums", duck_conn_, "memory.main.\"nums_back\"");
  EXPECT_EQ(Duck("SELECT typeof(wide) || ' ' || typeof(frac) || ' ' || typeof(whole) FROM "
                 "nums_back LIMIT 1"),
            "DECIMAL(38,10) DECIMAL(4,4) DECIMAL(18,0)");
  EXPECT_EQ(Duck("SELECT count(*) FROM (SELECT * FROM nums EXCEPT SELECT * FROM nums_back)"), "0");
  EXPECT_EQ(Duck("SELECT count(*) FROM nums_back"), "7");
}

TEST_F(PostgresConnectorTest, NumericsAtDuckDbsWidestPrecisionAndScaleAreExact) {
  // (DuckDB reads a literal with 38 fraction digits as a DOUBLE: the string keeps every digit.)
  duck_conn_.Execute(
      "CREATE TABLE tiny (id INTEGER, x DECIMAL(38,37), y DECIMAL(38,38), z HUGEINT);"
      "INSERT INTO tiny VALUES (1, 1.2345678901234567890123456789012345678, "
      "'0.12345678901234567890123456789012345678', 170141183460469231731687303715884105727), "
      "(2, -9.9999999999999999999999999999999999999, -0.00000000000000000000000000000000000001, "
      "-1)");
  Export("tiny", "tiny");
  EXPECT_EQ(PgColumn("tiny", "x"),
            "1.2345678901234567890123456789012345678\n-9.9999999999999999999999999999999999999");
  EXPECT_EQ(PgColumn("tiny", "y"),
            "0.12345678901234567890123456789012345678\n"
            "-0.00000000000000000000000000000000000001");
  EXPECT_EQ(PgColumn("tiny", "z"), "170141183460469231731687303715884105727\n-1");
  pg::LoadQuery(*pg_, "SELECT id, x, y FROM tiny", duck_conn_, "tiny_back");
  EXPECT_EQ(Duck("SELECT count(*) FROM (SELECT id, x, y FROM tiny EXCEPT SELECT * FROM tiny_back)"),
            "0");
}

TEST_F(PostgresConnectorTest, DoublesAppendedToANumericColumnKeepTheirShortestDecimal) {
  Psql("CREATE TABLE n (id int, x numeric)");
  duck_conn_.Execute(
      "CREATE TABLE d AS SELECT * FROM (VALUES (1, 0.1::DOUBLE), (2, 1e20), (3, -1.5e-10), "
      "(4, 'NaN'::DOUBLE), (5, 123456.789)) t(id, x)");
  Export("d", "n", ExportWritePolicy::kAppend);
  EXPECT_EQ(PgColumn("n", "x"), "0.1\n100000000000000000000\n-0.00000000015\nNaN\n123456.789");
}

TEST_F(PostgresConnectorTest, TaxiSampleExportsEveryRowWithTheSameTotalToTheCent) {
  duck_conn_.Execute("CREATE TABLE taxi AS SELECT * FROM read_csv('" + SamplePath() + "')");
  std::vector<uint64_t> progress;
  pg::ExportOptions options;
  options.table = "yellow_taxi_data";
  options.schema = "ny_taxi";
  options.progress = [&](uint64_t rows) { progress.push_back(rows); };
  pg::ExportResult r = pg::ExportRelation(duck_conn_, "taxi", *pg_, options);

  EXPECT_EQ(r.rows, 22792u);
  EXPECT_EQ(r.qualified_table, "\"ny_taxi\".\"yellow_taxi_data\"");
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), 22792u);
  EXPECT_EQ(Psql("SELECT count(*) FROM ny_taxi.yellow_taxi_data"), "22792");
  EXPECT_EQ(Psql("SELECT round(sum(total_amount)::numeric, 2) FROM ny_taxi.yellow_taxi_data"),
            Duck("SELECT round(sum(total_amount), 2)::DECIMAL(18,2)::VARCHAR FROM taxi"));
  EXPECT_EQ(Psql("SELECT count(*) FROM ny_taxi.yellow_taxi_data WHERE passenger_count > 0"),
            "22303");
  // Timestamps unchanged to the microsecond: the same epoch sum on both sides.
  EXPECT_EQ(Psql("SELECT sum(extract(epoch FROM tpep_pickup_datetime)::bigint) FROM "
                 "ny_taxi.yellow_taxi_data"),
            Duck("SELECT sum(epoch(tpep_pickup_datetime))::BIGINT::VARCHAR FROM taxi"));
}

TEST_F(PostgresConnectorTest, ColumnNamesAreCleanedAsMageDoesUnlessTurnedOff) {
  duck_conn_.Execute(
      "CREATE TABLE named AS SELECT 1 AS \"VendorID\", 2 AS \"Trip Distance\", 3 AS \"select\", "
      "4 AS \"2fast\"");
  pg::ExportResult cleaned = Export("named", "cleaned");
  EXPECT_THAT(cleaned.columns,
              ::testing::ElementsAre("vendorid", "trip_distance", "_select", "letter_2fast"));
  EXPECT_EQ(Psql("SELECT vendorid, trip_distance, _select, letter_2fast FROM cleaned"), "1|2|3|4");

  pg::ExportOptions options;
  options.table = "kept";
  options.clean_column_names = false;
  pg::ExportRelation(duck_conn_, "named", *pg_, options);
  EXPECT_EQ(Psql("SELECT \"VendorID\", \"Trip Distance\", \"select\", \"2fast\" FROM kept"),
            "1|2|3|4");
}

TEST_F(PostgresConnectorTest, ReplaceIsAtomicForAConcurrentReader) {
  duck_conn_.Execute(
      "CREATE TABLE old_rows AS SELECT i AS id, 'old ' || i AS s FROM range(300000) t(i)");
  duck_conn_.Execute(
      "CREATE TABLE new_rows AS SELECT i AS id, 'new ' || i AS s FROM range(400000) t(i)");
  Export("old_rows", "swapped");

  std::atomic<bool> stop{false};
  std::atomic<int> polls{0};
  std::set<std::string> seen;
  std::vector<std::string> errors;
  std::thread reader([&] {
    std::unique_ptr<pg::Connection> conn = pg::Connection::Open(Settings());
    while (!stop) {
      try {
        seen.insert(*conn->QueryText("SELECT count(*) FROM swapped")[0][0]);
      } catch (const pg::PostgresError& e) {
        errors.push_back(e.what());
      }
      ++polls;
    }
  });
  while (polls < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const int polls_before = polls;
  Export("new_rows", "swapped");
  const int polls_at_swap = polls;
  while (polls < polls_at_swap + 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  stop = true;
  reader.join();

  EXPECT_THAT(errors, ::testing::IsEmpty());
  EXPECT_EQ(seen, (std::set<std::string>{"300000", "400000"}));
  EXPECT_GE(polls_at_swap - polls_before, 2);  // the reader really polled while it ran
  EXPECT_EQ(TablesLike("swapped%"), "swapped");
}

TEST_F(PostgresConnectorTest, ReplaceFailingMidwayKeepsTheOldRowsAndLeavesNoStagingTable) {
  duck_conn_.Execute("CREATE TABLE old_rows AS SELECT i AS id, 'old' AS s FROM range(5) t(i)");
  Export("old_rows", "t");
  // PostgreSQL rejects the NUL byte in row 150,001, long after COPY started streaming.
  pg::ExportOptions options;
  options.table = "t";
  const std::string error = ExportError(
      "(SELECT i AS id, CASE WHEN i = 150000 THEN 'bad' || chr(0) ELSE 'ok' END AS s "
      "FROM range(200000) t(i))",
      options);
  EXPECT_THAT(error, AllOf(HasSubstr("export to \"public\".\"t\" (replace)"),
                           HasSubstr("row 150001, column s: invalid byte sequence")));
  EXPECT_EQ(Psql("SELECT count(*), min(s) FROM t"), "5|old");
  EXPECT_EQ(TablesLike("t%"), "t");
}

TEST_F(PostgresConnectorTest, ServerDyingMidCopyKeepsTheOldTableAndLeavesNoStagingTable) {
  duck_conn_.Execute("CREATE TABLE old_rows AS SELECT i AS id, 'old' AS s FROM range(5) t(i)");
  Export("old_rows", "t");
  pg::ExportOptions options;
  options.table = "t";
  bool killed = false;
  options.progress = [&](uint64_t) {
    if (!killed) server_->Kill();
    killed = true;
  };
  const std::string error =
      ExportError("(SELECT i AS id, repeat('x', 100) AS s FROM range(20000000) t(i))", options);
  server_->Start();
  ASSERT_TRUE(killed);
  EXPECT_THAT(error, AllOf(HasSubstr("export to \"public\".\"t\" (replace)"),
                           ::testing::AnyOf(HasSubstr("server closed the connection"),
                                            HasSubstr("could not send data to server"))));
  EXPECT_EQ(Psql("SELECT count(*), min(s) FROM t"), "5|old");
  EXPECT_EQ(TablesLike("t%"), "t");
}

TEST_F(PostgresConnectorTest, CancellingAnExportCommitsNothing) {
  duck_conn_.Execute("CREATE TABLE old_rows AS SELECT i AS id FROM range(5) t(i)");
  Export("old_rows", "t");
  pg::ExportOptions options;
  options.table = "t";
  int polls = 0;
  options.cancelled = [&] { return ++polls > 10; };
  EXPECT_THAT(ExportError("(SELECT i AS id FROM range(1000000) t(i))", options),
              HasSubstr("cancelled"));
  EXPECT_EQ(Psql("SELECT count(*) FROM t"), "5");
  EXPECT_EQ(TablesLike("t%"), "t");
  EXPECT_EQ(pg_->QueryText("SELECT 1")[0][0], "1");  // the connection is still usable
}

TEST_F(PostgresConnectorTest, AppendCreatesAMissingTableThenAddsRows) {
  duck_conn_.Execute("CREATE TABLE batch AS SELECT i AS id FROM range(3) t(i)");
  Export("batch", "grown", ExportWritePolicy::kAppend);
  Export("batch", "grown", ExportWritePolicy::kAppend);
  EXPECT_EQ(Psql("SELECT count(*), sum(id) FROM grown"), "6|6");
}

TEST_F(PostgresConnectorTest, AppendIntoATableWithoutTheExportedColumnsFailsNamingThem) {
  Psql("CREATE TABLE t (id int, note text)");
  duck_conn_.Execute("CREATE TABLE batch AS SELECT 1 AS id, 'x' AS fare, 2.5 AS tip");
  pg::ExportOptions options;
  options.table = "t";
  options.policy = ExportWritePolicy::kAppend;
  EXPECT_THAT(ExportError("batch", options),
              HasSubstr("the table has no column named fare, tip (its columns: id, note)"));
  EXPECT_EQ(Psql("SELECT count(*) FROM t"), "0");
}

TEST_F(PostgresConnectorTest, AppendOfIncompatibleColumnTypesFailsNamingThem) {
  Psql("CREATE TABLE t (id int, picked_up date, flag boolean)");
  duck_conn_.Execute(
      "CREATE TABLE batch AS SELECT 1 AS id, true AS picked_up, DATE '2021-01-01' AS flag");
  pg::ExportOptions options;
  options.table = "t";
  options.policy = ExportWritePolicy::kAppend;
  EXPECT_THAT(ExportError("batch", options),
              HasSubstr("incompatible column types: picked_up (DuckDB BOOLEAN into date), flag "
                        "(DuckDB DATE into boolean)"));
}

TEST_F(PostgresConnectorTest, AppendOfABigintTooLargeForAnIntegerColumnNamesTheRowAndColumn) {
  Psql("CREATE TABLE t (id int, n integer); INSERT INTO t VALUES (0, 0)");
  duck_conn_.Execute(
      "CREATE TABLE batch AS SELECT * FROM (VALUES (1, 1::BIGINT), (2, -2147483648), "
      "(3, 3000000000)) t(id, n)");
  pg::ExportOptions options;
  options.table = "t";
  options.policy = ExportWritePolicy::kAppend;
  EXPECT_THAT(ExportError("(SELECT * FROM batch ORDER BY id)", options),
              HasSubstr("row 3, column n: value 3000000000 does not fit integer"));
  EXPECT_EQ(Psql("SELECT count(*) FROM t"), "1");
}

TEST_F(PostgresConnectorTest, AppendConvertsValuesForTheExistingColumnTypes) {
  Psql(
      "CREATE TABLE t (id smallint, amount numeric(8,2), label varchar(5), seen timestamptz, "
      "doc json, ratio real)");
  duck_conn_.Execute(
      "CREATE TABLE batch AS SELECT 1::BIGINT AS id, '12.345' AS amount, 42 AS label, "
      "TIMESTAMPTZ '2021-01-01 10:00:00+00' AS seen, {'a': 1} AS doc, 0.5::DOUBLE AS ratio");
  Export("batch", "t", ExportWritePolicy::kAppend);
  EXPECT_EQ(Psql("SET TimeZone = 'UTC'; SELECT * FROM t"),
            "1|12.35|42|2021-01-01 10:00:00+00|{\"a\":1}|0.5");
  // The server's own checks come back with the row and column.
  duck_conn_.Execute("CREATE TABLE long_label AS SELECT 2 AS id, 'much too long' AS label");
  pg::ExportOptions options;
  options.table = "t";
  options.policy = ExportWritePolicy::kAppend;
  EXPECT_THAT(ExportError("long_label", options),
              HasSubstr("row 1, column label: value too long for type character varying(5)"));
}

TEST_F(PostgresConnectorTest, FailPolicyRefusesAnExistingTableAndCreatesAMissingOne) {
  duck_conn_.Execute("CREATE TABLE batch AS SELECT 1 AS id");
  Export("batch", "fresh", ExportWritePolicy::kFail);
  EXPECT_EQ(Psql("SELECT count(*) FROM fresh"), "1");
  pg::ExportOptions options;
  options.table = "fresh";
  options.policy = ExportWritePolicy::kFail;
  EXPECT_THAT(ExportError("batch", options),
              HasSubstr("the table already exists and export_write_policy is 'fail'"));
  EXPECT_EQ(Psql("SELECT count(*) FROM fresh"), "1");
}

TEST_F(PostgresConnectorTest, ConstantColumnsOfAStreamedQueryAreWrittenForEveryRow) {
  Export("(SELECT i AS id, 'same' AS s, 42 AS num, NULL::INTEGER AS n FROM range(5000) t(i))",
         "constants");
  EXPECT_EQ(Psql("SELECT count(*), count(DISTINCT s), min(s), sum(num), count(n) FROM constants"),
            "5000|1|same|210000|0");
}

TEST_F(PostgresConnectorTest, AnEmptyRelationCreatesAnEmptyTableWithItsColumns) {
  Export("(SELECT 1::BIGINT AS id, 'x' AS label WHERE false)", "empty");
  EXPECT_EQ(Psql("SELECT count(*) FROM empty"), "0");
  EXPECT_EQ(Psql("SELECT string_agg(column_name || ' ' || data_type, ', ') FROM "
                 "information_schema.columns WHERE table_name = 'empty'"),
            "id bigint, label text");
}

TEST_F(PostgresConnectorTest, ExportInsideTheCallersTransactionCommitsOrRollsBackWithIt) {
  duck_conn_.Execute("CREATE TABLE batch AS SELECT i AS id FROM range(10) t(i)");
  pg_->Execute("BEGIN");
  Export("batch", "in_tx");
  EXPECT_EQ(pg_->QueryText("SELECT count(*) FROM in_tx")[0][0], "10");
  pg_->Execute("ROLLBACK");
  EXPECT_EQ(TablesLike("in_tx%"), "");

  pg_->Execute("BEGIN");
  Export("batch", "in_tx");
  pg_->Execute("COMMIT");
  EXPECT_EQ(Psql("SELECT count(*) FROM in_tx"), "10");
}

TEST_F(PostgresConnectorTest, LoadQueryFailingMidwayCreatesNoDuckDbTableAndKeepsTheConnection) {
  Psql(
      "CREATE TABLE prices (id int, price numeric(10,2)); "
      "INSERT INTO prices SELECT i, i / 100.0 FROM generate_series(1, 50000) i; "
      "INSERT INTO prices VALUES (50001, 'NaN')");
  try {
    pg::LoadQuery(*pg_, "SELECT * FROM prices ORDER BY id", duck_conn_, "prices");
    FAIL() << "no error";
  } catch (const pg::PostgresError& e) {
    EXPECT_THAT(e.what(), HasSubstr("row 50001, column price: NaN does not fit DECIMAL(10,2)"));
  }
  EXPECT_EQ(Duck("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'prices'"), "0");
  EXPECT_EQ(pg_->QueryText("SELECT count(*) FROM prices")[0][0], "50001");
}

TEST_F(PostgresConnectorTest, LoadQueryRoundTripsEveryPostgresTypeIncludingNulls) {
  Psql(R"sql(
    CREATE TABLE every_type (id int, b bool, s int2, i int4, bi int8, f4 float4, f8 float8,
      n numeric(12,4), nu numeric, t text, vc varchar(10), c char(3), nm name, j json, jb jsonb,
      by bytea, d date, tm time, ttz timetz, ts timestamp, tstz timestamptz, iv interval,
      u uuid, ip inet, arr int[]);
    INSERT INTO every_type VALUES
      (1, true, -32768, 2147483647, -9223372036854775808, 1.5, 0.1, -12345678.1234,
       123456789.123456789, 'Zoë', 'varchar', 'ab', 'name', '{"a": 1}', '{"b": [1, 2]}',
       '\xdeadbeef', '2021-01-02', '12:34:56.789012', '12:34:56+05:30',
       '2021-01-01 00:15:56.123456', '2021-06-30 22:00:00.000001+00',
       '1 year 2 mons 3 days 04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
       '192.168.0.1/24', '{1,2,3}'),
      (2, false, 32767, -1, 0, -0.25, -1e300, 0, 'NaN', '', '', '', '', '[]', '{}', '',
       '1900-02-28', '00:00:00', '00:00:01-08', '1850-06-15 12:00:00', '1901-01-01 00:00:00+00',
       '-1 days', '00000000-0000-0000-0000-000000000000', '::1', '{}'),
      (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
  )sql");
  const uint64_t rows = pg::LoadQuery(*pg_, "SELECT * FROM every_type ORDER BY id;\n", duck_conn_,
                                      "memory.main.\"loaded\"");
  EXPECT_EQ(rows, 3u);
  data::Result types = duck_conn_.Query("DESCRIBE loaded");
  std::string described;
  for (uint64_t r = 0; r < types.row_count(); ++r) {
    described += (r ? ", " : "") + *types.GetString(0, r) + " " + *types.GetString(1, r);
  }
  EXPECT_EQ(described,
            "id INTEGER, b BOOLEAN, s SMALLINT, i INTEGER, bi BIGINT, f4 FLOAT, f8 DOUBLE, "
            "n DECIMAL(12,4), nu DOUBLE, t VARCHAR, vc VARCHAR, c VARCHAR, nm VARCHAR, j JSON, "
            "jb JSON, by BLOB, d DATE, tm TIME, ttz TIME WITH TIME ZONE, ts TIMESTAMP, "
            "tstz TIMESTAMP WITH TIME ZONE, iv INTERVAL, u UUID, ip VARCHAR, arr VARCHAR");
  duck_conn_.Execute("SET TimeZone = 'UTC'");
  auto column = [&](const std::string& name) {
    return Duck("SELECT string_agg(coalesce(\"" + name +
                "\"::VARCHAR, '<null>'), '|' ORDER BY id) FROM loaded");
  };
  EXPECT_EQ(column("b"), "true|false|<null>");
  EXPECT_EQ(column("s"), "-32768|32767|<null>");
  EXPECT_EQ(column("i"), "2147483647|-1|<null>");
  EXPECT_EQ(column("bi"), "-9223372036854775808|0|<null>");
  EXPECT_EQ(column("f4"), "1.5|-0.25|<null>");
  EXPECT_EQ(column("f8"), "0.1|-1e+300|<null>");
  EXPECT_EQ(column("n"), "-12345678.1234|0.0000|<null>");
  EXPECT_EQ(column("nu"), "123456789.12345679|nan|<null>");
  EXPECT_EQ(column("t"), "Zoë||<null>");
  EXPECT_EQ(column("vc"), "varchar||<null>");
  EXPECT_EQ(column("c"), "ab |   |<null>");
  EXPECT_EQ(column("nm"), "name||<null>");
  EXPECT_EQ(column("j"), "{\"a\": 1}|[]|<null>");
  EXPECT_EQ(column("jb"), "{\"b\": [1, 2]}|{}|<null>");
  EXPECT_EQ(column("by"), "\\xDE\\xAD\\xBE\\xEF||<null>");
  EXPECT_EQ(column("d"), "2021-01-02|1900-02-28|<null>");
  EXPECT_EQ(column("tm"), "12:34:56.789012|00:00:00|<null>");
  EXPECT_EQ(column("ttz"), "12:34:56+05:30|00:00:01-08|<null>");
  EXPECT_EQ(column("ts"), "2021-01-01 00:15:56.123456|1850-06-15 12:00:00|<null>");
  EXPECT_EQ(column("tstz"), "2021-06-30 22:00:00.000001+00|1901-01-01 00:00:00+00|<null>");
  EXPECT_EQ(column("iv"), "1 year 2 months 3 days 04:05:06.789|-1 day|<null>");
  EXPECT_EQ(column("u"),
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11|00000000-0000-0000-0000-000000000000|<null>");
  EXPECT_EQ(column("ip"), "192.168.0.1/24|::1/128|<null>");  // inet::text
  EXPECT_EQ(column("arr"), "{1,2,3}|{}|<null>");
}

TEST_F(PostgresConnectorTest, ExportThenLoadGivesBackTheTaxiSampleUnchanged) {
  duck_conn_.Execute("CREATE TABLE taxi AS SELECT * FROM read_csv('" + SamplePath() + "')");
  Export("taxi", "taxi");
  EXPECT_EQ(pg::LoadQuery(*pg_, "SELECT * FROM taxi", duck_conn_, "back"), 22792u);
  EXPECT_EQ(Duck("SELECT count(*) FROM (SELECT * FROM taxi EXCEPT SELECT * FROM back)"), "0");
}

TEST_F(PostgresConnectorTest, LoadQueryErrorsNameTheQuerysFirstLine) {
  try {
    pg::LoadQuery(*pg_, "SELECT no_such_column\nFROM pg_class", duck_conn_, "x");
    FAIL() << "no error";
  } catch (const pg::PostgresError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("query \"SELECT no_such_column\""),
                                HasSubstr("column \"no_such_column\" does not exist")));
  }
  EXPECT_EQ(Duck("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'x'"), "0");
}

TEST_F(PostgresConnectorTest, QueryTextBindsParametersAndReturnsNulls) {
  auto rows = pg_->QueryText("SELECT $1::int + 1, NULL::text", {"41"});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], "42");
  EXPECT_EQ(rows[0][1], std::nullopt);
  EXPECT_THAT([&] { pg_->Execute("SELECT * FROM missing_table"); },
              ::testing::ThrowsMessage<pg::PostgresError>(AllOf(
                  HasSubstr("postgres@127.0.0.1:" + std::to_string(server_->port()) + "/" + db_),
                  HasSubstr("relation \"missing_table\" does not exist"))));
}

//! The message of the PostgresError that connecting with `settings` throws.
std::string ConnectError(const pg::ConnectionSettings& settings) {
  try {
    pg::Connection::Open(settings);
  } catch (const pg::PostgresError& e) {
    return e.what();
  }
  return "";
}

//! A loopback TCP socket bound to a free port; listening (but never accepting) when asked.
class LoopbackSocket {
 public:
  explicit LoopbackSocket(bool listening) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t length = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length);
    port_ = ntohs(addr.sin_port);
    if (listening) ::listen(fd_, 16);
  }
  ~LoopbackSocket() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_F(PostgresConnectorTest, ConnectionRefusedNamesHostAndPort) {
  LoopbackSocket closed(/*listening=*/false);  // bound, not listening: connections are refused
  pg::ConnectionSettings s = Settings();
  s.port = closed.port();
  EXPECT_EQ(ConnectError(s), "cannot connect to PostgreSQL at 127.0.0.1:" +
                                 std::to_string(closed.port()) + ": connection refused");
}

TEST_F(PostgresConnectorTest, WrongPasswordFailsAuthenticationNamingTheUserNotThePassword) {
  pg::ConnectionSettings s = Settings();
  s.password = "not-the-password-" + server_->password().substr(0, 4);
  const std::string error = ConnectError(s);
  EXPECT_EQ(error, "authentication failed for user 'postgres' (PostgreSQL at 127.0.0.1:" +
                       std::to_string(server_->port()) + "/" + db_ + ")");
  EXPECT_THAT(error, Not(HasSubstr(s.password)));
}

TEST_F(PostgresConnectorTest, UnansweredConnectionTimesOutNamingHostPortAndTimeout) {
  LoopbackSocket silent(/*listening=*/true);  // the kernel accepts, nobody answers
  pg::ConnectionSettings s = Settings();
  s.port = silent.port();
  s.connect_timeout_seconds = 2;
  EXPECT_EQ(ConnectError(s), "cannot connect to PostgreSQL at 127.0.0.1:" +
                                 std::to_string(silent.port()) + ": timed out after 2 s");
}

}  // namespace
}  // namespace kiln::testing
