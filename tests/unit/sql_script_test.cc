// Splitting SQL block text into statements.
#include <gtest/gtest.h>

#include "kiln/data/sql_script.h"

namespace kiln::data {
namespace {

std::vector<std::string> Texts(std::string_view script) {
  std::vector<std::string> out;
  for (const auto& s : SplitSqlScript(script)) out.push_back(s.text);
  return out;
}

TEST(SqlScriptTest, SplitsOnTopLevelSemicolons) {
  EXPECT_EQ(Texts("SELECT 1; SELECT 2"), (std::vector<std::string>{"SELECT 1", "SELECT 2"}));
}

TEST(SqlScriptTest, TrailingSemicolonAndBlankPiecesAreDropped) {
  EXPECT_EQ(Texts("SELECT 1;\n;  \n"), (std::vector<std::string>{"SELECT 1"}));
}

TEST(SqlScriptTest, SemicolonsInsideStringsIdentifiersAndCommentsDoNotSplit) {
  auto t = Texts("SELECT 'a;b', \"c;d\" -- e;f\nFROM t /* g; /* nested; */ h; */; SELECT 2");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0], "SELECT 'a;b', \"c;d\" -- e;f\nFROM t /* g; /* nested; */ h; */");
}

TEST(SqlScriptTest, DoubledQuotesAndBackslashEscapesStayInsideTheString) {
  EXPECT_EQ(Texts("SELECT 'it''s;' ; SELECT E'a\\';b'").size(), 2u);
  EXPECT_EQ(Texts("SELECT E'a\\';b'")[0], "SELECT E'a\\';b'");
}

TEST(SqlScriptTest, DollarQuotedBodiesDoNotSplit) {
  auto t = Texts(
      "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql; SELECT $$x;y$$");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[1], "SELECT $$x;y$$");
}

TEST(SqlScriptTest, PositionalParametersAreNotDollarQuotes) {
  EXPECT_EQ(Texts("SELECT $1; SELECT $2").size(), 2u);
}

TEST(SqlScriptTest, CommentOnlyScriptHasNoStatements) {
  EXPECT_TRUE(SplitSqlScript("-- nothing here\n/* or here */\n").empty());
}

TEST(SqlScriptTest, StatementsKnowTheLineTheyStartOn) {
  auto s = SplitSqlScript("-- header\nSELECT 1;\n\n  SELECT\n 2;");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].line, 1);  // the comment belongs to the first statement's text
  EXPECT_EQ(s[1].line, 4);
}

}  // namespace
}  // namespace kiln::data

namespace kiln::data {
namespace {

TEST(SqlScriptTest, FirstKeywordSkipsCommentsAndUpperCases) {
  EXPECT_EQ(FirstKeyword("  -- note\n/* x */ pivot t ON a"), "PIVOT");
  EXPECT_EQ(FirstKeyword("(SELECT 1)"), "");
  EXPECT_EQ(FirstKeyword("with a as (select 1) select * from a"), "WITH");
}

TEST(SqlScriptTest, TrimStatementEndDropsTrailingSemicolonsAndSpaceOnly) {
  EXPECT_EQ(TrimStatementEnd("SELECT ';' AS s ;\n ;\t"), "SELECT ';' AS s");
  EXPECT_EQ(TrimStatementEnd(";;"), "");
}

}  // namespace
}  // namespace kiln::data
