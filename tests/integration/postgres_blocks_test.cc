// SQL blocks with data_provider: postgres, io_config.yaml profiles and .env files, against a real
// PostgreSQL 15 server the suite starts itself: the seed's test_config and api_to_postgres on the
// real sample, Mage's upload-then-run path, write policies, and every bad input of the issue.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/kiln_project.h"
#include "support/postgres_server.h"

namespace kiln::testing {
namespace {

using ::testing::HasSubstr;

class PostgresBlocksTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<PostgresServer>(); }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override { db_ = server_->CreateDatabase("blocks"); }

  //! The dev profile's variables, pointing at this test's database.
  std::map<std::string, std::string> DevEnv() const {
    return {{"POSTGRES_HOST", server_->host()}, {"POSTGRES_PORT", std::to_string(server_->port())},
            {"POSTGRES_USER", server_->user()}, {"POSTGRES_PASSWORD", server_->password()},
            {"POSTGRES_DBNAME", db_},           {"POSTGRES_SCHEMA", "public"}};
  }
  ProcessResult Run(const KilnProject& project, const std::string& pipeline,
                    std::map<std::string, std::string> env, std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"run", project.root().string(), pipeline, "--data-dir",
                                     project.data_dir().string()};
    args.insert(args.end(), more.begin(), more.end());
    return project.Kiln(args, env);
  }
  std::string Sql(const std::string& sql) const { return server_->Psql(db_, sql); }

  static std::unique_ptr<PostgresServer> server_;  // one server for the suite
  std::string db_;
};

std::unique_ptr<PostgresServer> PostgresBlocksTest::server_;

TEST_F(PostgresBlocksTest, TestConfigSelectOneReturnsOneRow) {
  KilnProject project("nyc_taxi");
  ProcessResult r = Run(project, "test_config", DevEnv());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto out = project.OutputDir("test_config", "test_postgres_connection");
  EXPECT_EQ(
      KilnProject::Value("SELECT * FROM read_parquet('" + (out / "data.parquet").string() + "')"),
      "1");
}

TEST_F(PostgresBlocksTest, ApiToPostgresLoadsTheSampleExactly) {
  KilnProject project("nyc_taxi");
  ProcessResult r = Run(project, "api_to_postgres", DevEnv());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out,
              HasSubstr("table ny_taxi.yellow_taxi_data (replace, 22,303 rows, binary COPY)"));
  EXPECT_EQ(Sql("SELECT count(*) FROM ny_taxi.yellow_taxi_data"), "22303");
  EXPECT_EQ(Sql("SELECT round(sum(total_amount)::numeric, 2) FROM ny_taxi.yellow_taxi_data"),
            "393571.80");
  EXPECT_EQ(Sql("SELECT count(*) FROM ny_taxi.yellow_taxi_data WHERE passenger_count = 0"), "0");
  // Mage's exporter cleans column names; timestamps arrive as timestamps, unchanged.
  EXPECT_EQ(Sql("SELECT data_type FROM information_schema.columns WHERE table_schema = 'ny_taxi' "
                "AND column_name = 'tpep_pickup_datetime'"),
            "timestamp without time zone");
  EXPECT_EQ(Sql("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'ny_taxi' "
                "AND column_name IN ('vendorid', 'pulocationid', 'ratecodeid')"),
            "3");
  EXPECT_EQ(Sql("SELECT min(tpep_pickup_datetime) || ' / ' || max(tpep_dropoff_datetime) FROM "
                "ny_taxi.yellow_taxi_data"),
            KilnProject::Value(
                "SELECT min(tpep_pickup_datetime) || ' / ' || max(tpep_dropoff_datetime) FROM "
                "read_csv('" +
                (project.root() / "data/yellow_tripdata_2021-01.sample.csv.gz").string() +
                "') WHERE passenger_count > 0"));
  // The read-back block got 5 rows from PostgreSQL.
  auto check = project.OutputDir("api_to_postgres", "check_taxi_in_postgres");
  EXPECT_EQ(KilnProject::Value("SELECT count(*) FROM read_parquet('" +
                               (check / "data.parquet").string() + "')"),
            "5");
}

TEST_F(PostgresBlocksTest, ReRunningReplaceDoesNotDuplicateRows) {
  KilnProject project("nyc_taxi");
  ASSERT_EQ(Run(project, "api_to_postgres", DevEnv()).exit_code, 0);
  ProcessResult again = Run(project, "api_to_postgres", DevEnv());
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(Sql("SELECT count(*) FROM ny_taxi.yellow_taxi_data"), "22303");
}

TEST_F(PostgresBlocksTest, DotEnvInTheProjectProvidesTheProfileAndTheProcessEnvironmentWins) {
  KilnProject project("nyc_taxi");
  std::string dotenv;
  for (const auto& [k, v] : DevEnv()) dotenv += k + "=" + v + "\n";
  project.Write(".env", "# as in the course's dev.env\n" + dotenv + "POSTGRES_SCHEMA=magic\n");
  ProcessResult r = Run(project, "test_config", {});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // A wrong port in .env loses to the process environment's right one.
  project.Write(".env", dotenv + "POSTGRES_PORT=1\n");
  r = Run(project, "test_config", {{"POSTGRES_PORT", std::to_string(server_->port())}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST_F(PostgresBlocksTest, ParentFolderDotEnvIsReadAsDockerComposeLaysItOut) {
  KilnProject project("nyc_taxi");
  std::string dotenv;
  for (const auto& [k, v] : DevEnv()) dotenv += "export " + k + "=\"" + v + "\"\n";
  std::ofstream(project.root().parent_path() / ".env") << dotenv;
  ProcessResult r = Run(project, "test_config", {});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  std::filesystem::remove(project.root().parent_path() / ".env");
}

TEST_F(PostgresBlocksTest, UnsetEnvironmentVariableIsNamedWithTheKeyAndProfile) {
  KilnProject project("nyc_taxi");
  auto env = DevEnv();
  env.erase("POSTGRES_HOST");
  ProcessResult r = Run(project, "test_config", env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("POSTGRES_HOST in profile 'dev' uses environment variable "
                               "POSTGRES_HOST, which is not set"));
}

TEST_F(PostgresBlocksTest, MissingKeyAndUnknownProfileAreNamed) {
  KilnProject project;
  project.Write("data_loaders/q.sql", "SELECT 1");
  project.Write("io_config.yaml", "dev:\n  POSTGRES_HOST: 127.0.0.1\n  POSTGRES_USER: postgres\n");
  project.Write("pipelines/p/metadata.yaml",
                "blocks:\n- uuid: q\n  type: data_loader\n  language: sql\n"
                "  configuration: {data_provider: postgres, data_provider_profile: dev}\n");
  ProcessResult r = Run(project, "p", {});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("io_config.yaml: profile 'dev' has no POSTGRES_DBNAME"));
  project.Write("pipelines/p/metadata.yaml",
                "blocks:\n- uuid: q\n  type: data_loader\n  language: sql\n"
                "  configuration: {data_provider: postgres, data_provider_profile: prod}\n");
  r = Run(project, "p", {});
  EXPECT_THAT(r.out, HasSubstr("no profile 'prod' (profiles: dev)"));
}

TEST_F(PostgresBlocksTest, RefusedConnectionAndWrongPasswordAreClear) {
  KilnProject project("nyc_taxi");
  auto env = DevEnv();
  env["POSTGRES_PORT"] = "1";
  ProcessResult r = Run(project, "test_config", env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("127.0.0.1:1"));
  EXPECT_THAT(r.out, HasSubstr("refused"));
  env = DevEnv();
  env["POSTGRES_PASSWORD"] = "wrong";
  r = Run(project, "test_config", env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("authentication failed for user 'postgres'"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("wrong")));  // never the password
}

class PostgresSqlTest : public PostgresBlocksTest {
 protected:
  void SetUp() override {
    PostgresBlocksTest::SetUp();
    project_.Write("io_config.yaml",
                   "dev:\n  POSTGRES_HOST: \"{{ env_var('POSTGRES_HOST') }}\"\n"
                   "  POSTGRES_PORT: \"{{ env_var('POSTGRES_PORT') }}\"\n"
                   "  POSTGRES_USER: \"{{ env_var('POSTGRES_USER') }}\"\n"
                   "  POSTGRES_PASSWORD: \"{{ mage_secret_var('POSTGRES_PASSWORD') }}\"\n"
                   "  POSTGRES_DBNAME: \"{{ env_var('POSTGRES_DBNAME') }}\"\n");
    project_.Write("data_loaders/trips.sql",
                   "SELECT * FROM (VALUES (1, 'a', 2.5), (1, 'b', NULL), (2, NULL, 4.0)) "
                   "AS t(VendorID, note, amount)");
  }
  ProcessResult RunP() { return Run(project_, "p", DevEnv()); }
  KilnProject project_;
};

TEST_F(PostgresSqlTest, QueryOverAnUpstreamOutputRunsInPostgresAfterMagesUpload) {
  project_.Write("transformers/per_vendor.sql",
                 "SELECT vendorid, count(*) AS trips, sum(amount) AS amount FROM {{ df_1 }} "
                 "GROUP BY vendorid ORDER BY vendorid");
  project_.Write("pipelines/p/metadata.yaml", R"(blocks:
- {uuid: trips, type: data_loader, language: sql}
- uuid: per_vendor
  type: transformer
  language: sql
  upstream_blocks: [trips]
  configuration: {data_provider: postgres, data_provider_profile: dev, data_provider_schema: s,
                  data_provider_table: per_vendor, export_write_policy: replace}
)");
  ProcessResult r = RunP();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Sql("SELECT string_agg(vendorid || ':' || trips || ':' || coalesce(amount::text, "
                "'null'), ',' "
                "ORDER BY vendorid) FROM s.per_vendor"),
            "1:2:2.5,2:1:4.0");
  // The upstream output was uploaded as Mage names it (dev_<pipeline>_<block>_v1), names cleaned.
  EXPECT_EQ(Sql("SELECT count(*) FROM s.dev_p_trips_v1 WHERE note IS NULL"), "1");
  auto out = project_.OutputDir("p", "per_vendor");
  EXPECT_EQ(KilnProject::Value("SELECT sum(trips) FROM read_parquet('" +
                               (out / "data.parquet").string() + "')"),
            "3");
}

TEST_F(PostgresSqlTest, AppendAddsRowsAndFailRefusesAnExistingTable) {
  project_.Write("transformers/keep.sql", "SELECT * FROM {{ df_1 }}");
  auto pipeline = [&](const std::string& policy) {
    project_.Write(
        "pipelines/p/metadata.yaml",
        "blocks:\n- {uuid: trips, type: data_loader, language: sql}\n"
        "- uuid: keep\n  type: transformer\n  language: sql\n  upstream_blocks: [trips]\n"
        "  configuration: {data_provider: postgres, data_provider_profile: dev, "
        "data_provider_table: kept, export_write_policy: " +
            policy + "}\n");
  };
  pipeline("append");
  ASSERT_EQ(RunP().exit_code, 0);
  ProcessResult second = RunP();
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_EQ(Sql("SELECT count(*) FROM public.kept"), "6");
  pipeline("fail");
  ProcessResult r = RunP();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("already exists"));
  EXPECT_EQ(Sql("SELECT count(*) FROM public.kept"), "6");
}

TEST_F(PostgresSqlTest, AppendIntoATableWithOtherColumnsIsRefusedNamingThem) {
  Sql("CREATE TABLE public.kept (id integer, other text)");
  Sql("INSERT INTO public.kept VALUES (1, 'x')");
  project_.Write("transformers/keep.sql", "SELECT * FROM {{ df_1 }}");
  project_.Write("pipelines/p/metadata.yaml",
                 "blocks:\n- {uuid: trips, type: data_loader, language: sql}\n"
                 "- uuid: keep\n  type: transformer\n  language: sql\n  upstream_blocks: [trips]\n"
                 "  configuration: {data_provider: postgres, data_provider_profile: dev, "
                 "data_provider_table: kept, export_write_policy: append}\n");
  ProcessResult r = RunP();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("vendorid"));
  EXPECT_EQ(Sql("SELECT count(*) FROM public.kept"), "1");
}

TEST_F(PostgresSqlTest, RawSqlRunsAsWrittenAndTheLastSelectIsTheOutput) {
  project_.Write("custom/script.sql",
                 "CREATE TABLE IF NOT EXISTS public.events (id int, seen_at timestamptz);\n"
                 "INSERT INTO public.events VALUES (1, '2021-01-01 10:00:00+00'), (2, NULL);\n"
                 "SELECT id, seen_at FROM public.events ORDER BY id;\n");
  project_.Write("transformers/count.sql", "SELECT count(seen_at) AS with_time FROM {{ df_1 }}");
  project_.Write("pipelines/p/metadata.yaml", R"(blocks:
- uuid: script
  type: custom
  language: sql
  configuration: {data_provider: postgres, data_provider_profile: dev, use_raw_sql: true}
- uuid: count
  type: transformer
  language: sql
  upstream_blocks: [script]
  configuration: {data_provider_table: counted, export_write_policy: replace}
)");
  ProcessResult r = RunP();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(project_.WarehouseValue("SELECT with_time FROM main.counted"), "1");
  auto out = project_.OutputDir("p", "script");
  EXPECT_EQ(KilnProject::Value("SELECT typeof(seen_at) FROM read_parquet('" +
                               (out / "data.parquet").string() + "') LIMIT 1"),
            "TIMESTAMP WITH TIME ZONE");
}

TEST_F(PostgresSqlTest, AFailingBlockLeavesNothingOfItsStatementsBehind) {
  project_.Write("custom/script.sql",
                 "CREATE TABLE public.partial (a int);\nINSERT INTO public.partial VALUES (1);\n"
                 "SELECT * FROM no_such_table;\n");
  project_.Write("pipelines/p/metadata.yaml",
                 "blocks:\n- uuid: script\n  type: custom\n  language: sql\n"
                 "  configuration: {data_provider: postgres, data_provider_profile: dev, "
                 "use_raw_sql: true}\n");
  ProcessResult r = RunP();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Sql("SELECT to_regclass('public.partial') IS NULL"), "t");  // rolled back, as Mage
}

TEST_F(PostgresSqlTest, AppendWritesByColumnNameOnceAndOutputsTheInsertedRows) {
  Sql("CREATE TABLE public.ord (a int, b int, id serial)");
  Sql("INSERT INTO public.ord (a, b) VALUES (10, 20)");
  // Columns in the other order, and a query that depends on the table it appends to.
  project_.Write("data_loaders/more.sql",
                 "SELECT 2 AS b, 1 AS a FROM generate_series(1, 3) WHERE "
                 "(SELECT count(*) FROM public.ord) = 1");
  project_.Write("pipelines/p/metadata.yaml",
                 "blocks:\n- uuid: more\n  type: data_loader\n  language: sql\n"
                 "  configuration: {data_provider: postgres, data_provider_profile: dev, "
                 "data_provider_table: ord, export_write_policy: append}\n");
  ProcessResult r = RunP();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Sql("SELECT count(*) || ':' || sum(a) || ':' || sum(b) FROM public.ord WHERE id > 1"),
            "3:3:6");
  EXPECT_THAT(r.out, HasSubstr("(append, 3 rows)"));
  EXPECT_EQ(KilnProject::Value("SELECT count(*) FROM read_parquet('" +
                               (project_.OutputDir("p", "more") / "data.parquet").string() + "')"),
            "3");
}

TEST_F(PostgresSqlTest, ARenamingAliasIsNotAPassThrough) {
  project_.Write("transformers/rename.sql", "SELECT * FROM {{ df_1 }} AS t(x, y, z)");
  project_.Write("pipelines/p/metadata.yaml", R"(blocks:
- {uuid: trips, type: data_loader, language: sql}
- uuid: rename
  type: transformer
  language: sql
  upstream_blocks: [trips]
  configuration: {data_provider: postgres, data_provider_profile: dev, data_provider_table: renamed,
                  export_write_policy: replace}
)");
  ProcessResult r = RunP();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Sql("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM "
                "information_schema.columns WHERE table_name = 'renamed'"),
            "x,y,z");
}

TEST_F(PostgresSqlTest, ConfiguredNamesFoldToLowerCaseAsPostgresDoesWithMagesUnquotedSql) {
  project_.Write("transformers/keep.sql", "SELECT * FROM {{ df_1 }}");
  std::string long_name(63, 't');
  for (const std::string& table : {std::string("YellowCab"), long_name}) {
    project_.Write(
        "pipelines/p/metadata.yaml",
        "blocks:\n- {uuid: trips, type: data_loader, language: sql}\n"
        "- uuid: keep\n  type: transformer\n  language: sql\n  upstream_blocks: [trips]\n"
        "  configuration: {data_provider: postgres, data_provider_profile: dev, "
        "data_provider_schema: NY_Taxi, data_provider_table: " +
            table + ", export_write_policy: replace}\n");
    for (int run = 0; run < 2; ++run) {  // the second run replaces through a staging table
      ProcessResult r = RunP();
      ASSERT_EQ(r.exit_code, 0) << table << ": " << r.out << r.err;
    }
  }
  EXPECT_EQ(Sql("SELECT count(*) FROM ny_taxi.yellowcab"), "3");
  EXPECT_EQ(Sql("SELECT count(*) FROM ny_taxi." + long_name), "3");
}

TEST_F(PostgresSqlTest, ShowAndPostgresOnlySyntaxCanBeTheOutput) {
  project_.Write("data_loaders/tz.sql", "SHOW timezone;");
  project_.Write("data_loaders/tree.sql",
                 "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) "
                 "SEARCH DEPTH FIRST BY n SET ord SELECT n FROM t");
  project_.Write("pipelines/p/metadata.yaml", R"(blocks:
- uuid: tz
  type: data_loader
  language: sql
  configuration: {data_provider: postgres, data_provider_profile: dev, use_raw_sql: true}
- uuid: tree
  type: data_loader
  language: sql
  configuration: {data_provider: postgres, data_provider_profile: dev}
)");
  ProcessResult r = RunP();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, ::testing::ContainsRegex("tz +completed +1 "));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("tree +completed +3 "));
}

TEST_F(PostgresSqlTest, AFailedExportLeavesNoOutputBehind) {
  project_.Write("transformers/keep.sql", "SELECT * FROM {{ df_1 }}");
  Sql("CREATE TABLE public.kept (x int)");
  project_.Write("pipelines/p/metadata.yaml",
                 "blocks:\n- {uuid: trips, type: data_loader, language: sql}\n"
                 "- uuid: keep\n  type: transformer\n  language: sql\n  upstream_blocks: [trips]\n"
                 "  configuration: {data_provider: postgres, data_provider_profile: dev, "
                 "data_provider_table: kept, export_write_policy: fail}\n");
  for (int run = 0; run < 4; ++run) {
    ProcessResult r = RunP();
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_FALSE(std::filesystem::exists(project_.OutputDir("p", "keep"))) << "run " << run;
  }
}

TEST_F(PostgresSqlTest, UnsetOptionalSchemaFallsBackToPublicWithAWarning) {
  project_.Write("io_config.yaml",
                 "dev:\n  POSTGRES_HOST: \"{{ env_var('POSTGRES_HOST') }}\"\n"
                 "  POSTGRES_PORT: \"{{ env_var('POSTGRES_PORT') }}\"\n"
                 "  POSTGRES_USER: \"{{ env_var('POSTGRES_USER') }}\"\n"
                 "  POSTGRES_PASSWORD: \"{{ env_var('POSTGRES_PASSWORD') }}\"\n"
                 "  POSTGRES_DBNAME: \"{{ env_var('POSTGRES_DBNAME') }}\"\n"
                 "  POSTGRES_SCHEMA: \"{{ env_var('POSTGRES_SCHEMA') }}\" # Optional\n");
  project_.Write("data_loaders/one.sql", "SELECT 1");
  project_.Write("pipelines/p/metadata.yaml",
                 "blocks:\n- uuid: one\n  type: data_loader\n  language: sql\n"
                 "  configuration: {data_provider: postgres, data_provider_profile: dev}\n");
  auto env = DevEnv();
  env.erase("POSTGRES_SCHEMA");
  ProcessResult r = Run(project_, "p", env);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("POSTGRES_SCHEMA in profile 'dev' uses environment variable "
                               "POSTGRES_SCHEMA, which is not set"));
}

TEST_F(PostgresSqlTest, SshTunnelIsRefusedRatherThanIgnored) {
  project_.Write("io_config.yaml",
                 "dev:\n  POSTGRES_HOST: h\n  POSTGRES_USER: u\n  POSTGRES_DBNAME: d\n"
                 "  POSTGRES_CONNECTION_METHOD: ssh_tunnel\n");
  project_.Write("data_loaders/one.sql", "SELECT 1");
  project_.Write("pipelines/p/metadata.yaml",
                 "blocks:\n- uuid: one\n  type: data_loader\n  language: sql\n"
                 "  configuration: {data_provider: postgres, data_provider_profile: dev}\n");
  ProcessResult r = RunP();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("POSTGRES_CONNECTION_METHOD 'ssh_tunnel' in profile 'dev' is not "
                               "supported yet"));
}

TEST_F(PostgresSqlTest, PostgresErrorsNameTheBlockFileAndLine) {
  project_.Write("data_loaders/bad.sql", "-- comment\nSELECT * FROM no_such_table;\n");
  project_.Write("pipelines/p/metadata.yaml",
                 "blocks:\n- uuid: bad\n  type: data_loader\n  language: sql\n"
                 "  configuration: {data_provider: postgres, data_provider_profile: dev}\n");
  ProcessResult r = RunP();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("block 'bad': data_loaders/bad.sql:"));
  EXPECT_THAT(r.out, HasSubstr("no_such_table"));
}

}  // namespace
}  // namespace kiln::testing
