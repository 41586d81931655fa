// io_config.yaml profiles and .env files (config/).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kiln/config/dotenv.h"
#include "kiln/config/io_config.h"
#include "support/temp_dir.h"

namespace kiln::config {
namespace {

using ::testing::HasSubstr;

Environment Parsed(std::string_view text, Environment env = Environment::FromMap({})) {
  ParseDotEnv(text, "x/.env", env);
  return env;
}

TEST(DotEnvTest, ReadsKeyValueLinesCommentsAndExport) {
  Environment env = Parsed("# comment\n\nA=1\nexport B = two words \nC=x #trailing note\n");
  EXPECT_EQ(env.Get("A"), "1");
  EXPECT_EQ(env.Get("B"), "two words");
  EXPECT_EQ(env.Get("C"), "x");
}

TEST(DotEnvTest, QuotesFollowDockerCompose) {
  Environment env = Parsed("S='a $HOME #x'\nD=\"line\\nnext \\\"q\\\"\"\nE=\"\"\n");
  EXPECT_EQ(env.Get("S"), "a $HOME #x");  // single quotes: literal
  EXPECT_EQ(env.Get("D"), "line\nnext \"q\"");
  EXPECT_EQ(env.Get("E"), "");
}

TEST(DotEnvTest, InterpolatesEarlierValuesAndDefaults) {
  Environment env = Parsed("HOST=db\nURL=postgres://${HOST}:${PORT:-5432}/$HOST\n");
  EXPECT_EQ(env.Get("URL"), "postgres://db:5432/db");
}

TEST(DotEnvTest, FollowsDockerComposeOnTheFinerPoints) {
  Environment env = Parsed(
      "\xEF\xBB\xBF"
      "A=first\nA=second\n"               // BOM skipped; a later line wins
      "D=\"keep \\$HOME\"\nM=cost $$5\n"  // \$ and $$ are literal dollars
      "T=value\t# a comment after a tab\n"
      "ML=\"line one\nline two\"\nHOME_ONLY\n",  // a value over two lines; a bare key
      Environment::FromMap({{"HOME_ONLY", "from env"}}));
  EXPECT_EQ(env.Get("A"), "second");
  EXPECT_EQ(env.Get("D"), "keep $HOME");
  EXPECT_EQ(env.Get("M"), "cost $5");
  EXPECT_EQ(env.Get("T"), "value");
  EXPECT_EQ(env.Get("ML"), "line one\nline two");
  EXPECT_EQ(env.Get("HOME_ONLY"), "from env");
}

TEST(DotEnvTest, ErrorsNeverShowTheValue) {
  try {
    Parsed("POSTGRES PASSWORD=hunter2secret\n");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("x/.env:1:"));
    EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("hunter2secret")));
  }
}

TEST(IoConfigTest, ValueThatBreaksTheYamlAfterRenderingIsExplained) {
  EXPECT_THAT(
      [] {
        IoConfig::Parse("dev:\n  POSTGRES_PASSWORD: \"{{ env_var('PW') }}\"\n", "io_config.yaml",
                        Environment::FromMap({{"PW", "a\\d\"x"}}));
      },
      ::testing::ThrowsMessage<ConfigError>(HasSubstr("the file is valid YAML as written")));
}

TEST(DotEnvTest, TheProcessEnvironmentWins) {
  Environment env =
      Parsed("POSTGRES_PORT=5432\n", Environment::FromMap({{"POSTGRES_PORT", "6543"}}));
  EXPECT_EQ(env.Get("POSTGRES_PORT"), "6543");
}

TEST(DotEnvTest, MalformedLinesNameFileAndLine) {
  EXPECT_THAT([] { Parsed("A=1\nnot a setting\n"); },
              ::testing::ThrowsMessage<ConfigError>(HasSubstr("x/.env:2: expected '=' after not")));
  EXPECT_THAT([] { Parsed("A='open\n"); }, ::testing::ThrowsMessage<ConfigError>(
                                               HasSubstr("x/.env:1: unterminated single quote")));
}

TEST(DotEnvTest, ProjectFileWinsOverItsParents) {
  kiln::testing::TempDir dir;
  dir.Write(".env", "A=parent\nB=parent\n");
  dir.Write("project/.env", "A=project\n");
  Environment env = Environment::FromMap({});
  auto files = LoadDotEnvFiles(dir.path() / "project", env);
  EXPECT_EQ(files.size(), 2u);
  EXPECT_EQ(env.Get("A"), "project");
  EXPECT_EQ(env.Get("B"), "parent");
}

TEST(IoConfigTest, ProfilesAreRenderedAndRead) {
  IoConfig c = IoConfig::Parse(
      "version: 0.1.1\ndefault:\n  DUCKDB_DATABASE: w.duckdb\ndev:\n"
      "  POSTGRES_HOST: \"{{ env_var('PGH') }}\"\n  POSTGRES_PORT: 5432\n",
      "io_config.yaml", Environment::FromMap({{"PGH", "db.local"}}));
  EXPECT_THAT(c.ProfileNames(), ::testing::ElementsAre("default", "dev"));
  EXPECT_EQ(c.Profile("dev").Get("POSTGRES_HOST"), "db.local");
  EXPECT_EQ(c.Profile("dev").Get("POSTGRES_PORT"), "5432");
  EXPECT_EQ(c.Profile("dev").Get("POSTGRES_SCHEMA"), std::nullopt);
}

TEST(IoConfigTest, UnsetVariableFailsOnlyTheSettingThatUsesIt) {
  IoConfig c = IoConfig::Parse(
      "default:\n  DUCKDB_DATABASE: w.duckdb\n  POSTGRES_PASSWORD: \"{{ env_var('PGPASS') }}\"\n",
      "io_config.yaml", Environment::FromMap({}));
  EXPECT_EQ(c.Profile("default").Get("DUCKDB_DATABASE"), "w.duckdb");
  EXPECT_THAT([&] { c.Profile("default").Get("POSTGRES_PASSWORD"); },
              ::testing::ThrowsMessage<ConfigError>(
                  HasSubstr("io_config.yaml: POSTGRES_PASSWORD in profile 'default' uses "
                            "environment variable PGPASS, which is not set")));
}

TEST(IoConfigTest, MageSecretVarReadsTheEnvironment) {
  IoConfig c = IoConfig::Parse("default:\n  POSTGRES_PASSWORD: \"{{ mage_secret_var('pw') }}\"\n",
                               "io_config.yaml", Environment::FromMap({{"pw", "s3cret"}}));
  EXPECT_EQ(c.Profile("default").Get("POSTGRES_PASSWORD"), "s3cret");
}

TEST(IoConfigTest, VerboseFormatMapsToFlatKeys) {
  IoConfig c = IoConfig::Parse(
      "default:\n  PostgreSQL:\n    host: h\n    port: 5433\n    database: d\n    user: u\n"
      "  Duck DB:\n    database: x.duckdb\n",
      "io_config.yaml", Environment::FromMap({}));
  EXPECT_EQ(c.Profile("default").Get("POSTGRES_HOST"), "h");
  EXPECT_EQ(c.Profile("default").Get("POSTGRES_DBNAME"), "d");
  EXPECT_EQ(c.Profile("default").Get("DUCKDB_DATABASE"), "x.duckdb");
}

TEST(IoConfigTest, UnknownProfileListsTheOthers) {
  IoConfig c =
      IoConfig::Parse("default: {}\ndev: {}\n", "io_config.yaml", Environment::FromMap({}));
  EXPECT_THAT([&] { c.Profile("prod"); }, ::testing::ThrowsMessage<ConfigError>(HasSubstr(
                                              "no profile 'prod' (profiles: default, dev)")));
}

TEST(IoConfigTest, MissingRequiredKeyIsNamed) {
  IoConfig c =
      IoConfig::Parse("dev: {POSTGRES_HOST: h}\n", "io_config.yaml", Environment::FromMap({}));
  EXPECT_THAT(
      [&] { c.Profile("dev").Require("POSTGRES_DBNAME"); },
      ::testing::ThrowsMessage<ConfigError>(HasSubstr("profile 'dev' has no POSTGRES_DBNAME")));
}

}  // namespace
}  // namespace kiln::config
