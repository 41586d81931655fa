// Specification of the renderer's errors: every message names the origin, the line and what
// went wrong (src/kiln/template/).
#include <gtest/gtest.h>

#include "kiln/template/render.h"
#include "unit/template_test_support.h"

namespace kiln::templating {
namespace {

using namespace kiln::templating::testing;

// ---- Errors: each names the template, the line and the thing -----------------------------------

TEST(TemplateTest, TemplateErrorCarriesOriginLineAndMessage) {
  try {
    Render("a\n\n{{ missing }}", Context(), "pipelines/p/x.sql");
    FAIL() << "expected a TemplateError";
  } catch (const TemplateError& e) {
    EXPECT_EQ(e.origin(), "pipelines/p/x.sql");
    EXPECT_EQ(e.line(), 3);
    EXPECT_EQ(e.message(), "'missing' is undefined");
    EXPECT_STREQ(e.what(), "pipelines/p/x.sql:3: 'missing' is undefined");
  }
}

TEST(TemplateTest, ErrorInsideAMultiLineExpressionNamesTheLineOfTheFailingOperation) {
  EXPECT_EQ(ErrorOf("{{ [1,\n  1 + 'a'] }}"),
            "test.sql:2: unsupported operand type(s) for +: 'int' and 'str'");
}

TEST(TemplateTest, UnknownFilterIsReported) {
  EXPECT_EQ(ErrorOf("a\n{{ x|nope }}"), "test.sql:2: unknown filter 'nope'");
}

TEST(TemplateTest, UnknownTestIsReported) {
  EXPECT_EQ(ErrorOf("{{ x is nope }}"), "test.sql:1: unknown test 'nope'");
}

TEST(TemplateTest, UnknownTagIsReported) {
  EXPECT_EQ(ErrorOf("a\n\n{% frobnicate %}"), "test.sql:3: unknown tag 'frobnicate'");
}

TEST(TemplateTest, UnsupportedJinjaTagIsReportedAsSuch) {
  EXPECT_EQ(ErrorOf("{% include 'x.sql' %}"), "test.sql:1: tag 'include' is not supported");
  EXPECT_EQ(ErrorOf("{% macro m() %}{% endmacro %}"), "test.sql:1: tag 'macro' is not supported");
}

TEST(TemplateTest, UnclosedIfNamesTheLineOfTheIf) {
  EXPECT_EQ(ErrorOf("a\n{% if x %}\nb\n"),
            "test.sql:2: unclosed '{% if %}' (missing '{% endif %}')");
  EXPECT_EQ(ErrorOf("{% if x %}{% else %}"),
            "test.sql:1: unclosed '{% if %}' (missing '{% endif %}')");
}

TEST(TemplateTest, UnclosedForNamesTheLineOfTheFor) {
  EXPECT_EQ(ErrorOf("{% for x in y %}\n{% if x %}{% endif %}"),
            "test.sql:1: unclosed '{% for %}' (missing '{% endfor %}')");
}

TEST(TemplateTest, MismatchedOrStrayClosingTagIsReported) {
  EXPECT_EQ(ErrorOf("{% if x %}\n{% endfor %}"),
            "test.sql:2: unexpected tag 'endfor' (expected 'elif', 'else' or 'endif' for the 'if' "
            "on line 1)");
  EXPECT_EQ(ErrorOf("{% endif %}"), "test.sql:1: unexpected tag 'endif' outside any block");
}

TEST(TemplateTest, UnterminatedTagsAreReportedAtTheirStart) {
  EXPECT_EQ(ErrorOf("a\n{{ x \n"), "test.sql:2: unterminated '{{' (missing '}}')");
  EXPECT_EQ(ErrorOf("{% if x "), "test.sql:1: unterminated '{%' (missing '%}')");
  EXPECT_EQ(ErrorOf("\n{# note"), "test.sql:2: unterminated comment (missing '#}')");
  EXPECT_EQ(ErrorOf("{% raw %}{{ x }}"),
            "test.sql:1: unclosed '{% raw %}' (missing '{% endraw %}')");
  EXPECT_EQ(ErrorOf("{{ 'abc }}"), "test.sql:1: unterminated string literal");
}

TEST(TemplateTest, ExpressionSyntaxErrorsSayWhatWasExpected) {
  EXPECT_EQ(ErrorOf("{{ 1 + }}"), "test.sql:1: expected an expression, got '}}'");
  EXPECT_EQ(ErrorOf("{{ }}"), "test.sql:1: expected an expression, got '}}'");
  EXPECT_EQ(ErrorOf("{{ x y }}"), "test.sql:1: expected '}}', got 'y'");
  EXPECT_EQ(ErrorOf("{{ f(1 }}"), "test.sql:1: unexpected '}' (expected ')')");
  EXPECT_EQ(ErrorOf("{{ a $ b }}"), "test.sql:1: unexpected character '$'");
  EXPECT_EQ(ErrorOf("{% if %}{% endif %}"), "test.sql:1: expected an expression, got '%}'");
  EXPECT_EQ(ErrorOf("{% for in x %}{% endfor %}"),
            "test.sql:1: expected a loop variable, got 'in'");
  EXPECT_EQ(ErrorOf("{% set x + 1 %}"), "test.sql:1: expected '=' or '%}', got '+'");
}

TEST(TemplateTest, WrongArgumentCountsAreReported) {
  EXPECT_EQ(ErrorOf("{{ 'a'.upper(1) }}"), "test.sql:1: str.upper() takes no arguments (1 given)");
  EXPECT_EQ(ErrorOf("{{ 'a'|replace('x') }}"),
            "test.sql:1: filter 'replace' missing required argument 'new'");
  EXPECT_EQ(ErrorOf("{{ 'a'|upper(1) }}"),
            "test.sql:1: filter 'upper' takes no arguments (1 given)");
  EXPECT_EQ(ErrorOf("{{ 'a'|default(1, 2, 3) }}"),
            "test.sql:1: filter 'default' takes at most 2 arguments (3 given)");
  EXPECT_EQ(ErrorOf("{{ d.get() }}", With("d", Value(Dict{}))),
            "test.sql:1: dict.get() missing required argument 'key'");
  EXPECT_EQ(ErrorOf("{{ 'a'.split(bogus=1) }}"),
            "test.sql:1: str.split() got an unexpected keyword argument 'bogus'");
  EXPECT_EQ(ErrorOf("{{ range() }}"), "test.sql:1: range() missing required argument 'start'");
}

TEST(TemplateTest, TypeErrorsUsePythonsWording) {
  EXPECT_EQ(ErrorOf("{{ 1 + 'a' }}"),
            "test.sql:1: unsupported operand type(s) for +: 'int' and 'str'");
  EXPECT_EQ(ErrorOf("{{ 'a' < 1 }}"),
            "test.sql:1: '<' not supported between instances of 'str' and 'int'");
  EXPECT_EQ(ErrorOf("{{ 1 / 0 }}"), "test.sql:1: division by zero");
  EXPECT_EQ(ErrorOf("{{ 5 // 0 }}"), "test.sql:1: integer division or modulo by zero");
  EXPECT_EQ(ErrorOf("{{ 1() }}"), "test.sql:1: 'int' object is not callable");
  EXPECT_EQ(ErrorOf("{% for x in 3 %}{% endfor %}"), "test.sql:1: 'int' object is not iterable");
  EXPECT_EQ(ErrorOf("{% for a, b in ['xyz'] %}{% endfor %}"),
            "test.sql:1: too many values to unpack (expected 2, got 3)");
  EXPECT_EQ(ErrorOf("{{ '%d' % 'x' }}"),
            "test.sql:1: %d format: a real number is required, not str");
}

TEST(TemplateTest, IntegerOverflowIsAnErrorNotAWrongNumber) {
  EXPECT_EQ(ErrorOf("{{ 9223372036854775807 + 1 }}"),
            "test.sql:1: integer result of '+' does not fit in 64 bits");
  EXPECT_EQ(ErrorOf("{{ 99999999999999999999 }}"),
            "test.sql:1: integer literal 99999999999999999999 is too large");
}

TEST(TemplateTest, ErrorThrownByAFunctionIsReportedAtTheCall) {
  Function secret = [](const CallArgs&) -> Value { throw kiln::Error("secret 'pw' not found"); };
  Function strict = [](const CallArgs&) -> Value { throw TemplateError("bad argument"); };
  Context context = With("mage_secret_var", Value(secret));
  context.Set("strict", Value(strict));
  EXPECT_EQ(ErrorOf("\n{{ mage_secret_var('pw') }}", context), "test.sql:2: secret 'pw' not found");
  EXPECT_EQ(ErrorOf("{{ strict() }}", context), "test.sql:1: bad argument");
}

TEST(TemplateTest, DeeplyNestedExpressionIsAnErrorNotACrash) {
  std::string source = "{{ " + std::string(1000, '(') + "1" + std::string(1000, ')') + " }}";
  EXPECT_EQ(ErrorOf(source), "test.sql:1: nested too deeply");
}

// The context Kiln builds for a Mage SQL block (spec sections 6.3 and 8.1 step 7).
}  // namespace
}  // namespace kiln::templating
