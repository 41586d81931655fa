// Specification of Kiln's Jinja renderer (src/kiln/template/). Expected outputs were checked
// against Jinja 3.1 where Kiln follows it; the undefined-value rules are Kiln's own (see
// render.h).
#include "kiln/template/render.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kiln/common/datetime.h"
#include "unit/template_test_support.h"

namespace kiln::templating {
namespace {

using namespace kiln::templating::testing;

// ---- Text, comments, raw blocks and whitespace control ----------------------------------------

TEST(TemplateTest, TextWithoutTagsIsCopiedUnchanged) {
  EXPECT_EQ(R("SELECT 1 -- {x} { y } %} }}"), "SELECT 1 -- {x} { y } %} }}");
}

TEST(TemplateTest, OneTrailingNewlineIsDroppedAsJinjaDoes) {
  EXPECT_EQ(R("SELECT 1\n"), "SELECT 1");
  EXPECT_EQ(R("SELECT 1\n\n"), "SELECT 1\n");
}

TEST(TemplateTest, CarriageReturnsBecomeNewlines) {
  EXPECT_EQ(R("a\r\nb\rc"), "a\nb\nc");
}

TEST(TemplateTest, NewlineAfterBlockTagIsKept) {
  EXPECT_EQ(R("a\n{% if true %}\nx\n{% endif %}\nb\n"), "a\n\nx\n\nb");
}

TEST(TemplateTest, DashInBlockTagsStripsAdjacentWhitespace) {
  EXPECT_EQ(R("a  \n  {%- if true -%}  \n x \n {%- endif %}  b"), "ax  b");
}

TEST(TemplateTest, DashInPrintTagsStripsAdjacentWhitespace) {
  EXPECT_EQ(R("a \n {{- 1 -}} \n b"), "a1b");
}

TEST(TemplateTest, CommentsAreDroppedAndMaySpanLines) {
  EXPECT_EQ(R("a {# one\ntwo #}b {#- x -#} c"), "a bc");
}

TEST(TemplateTest, RawBlockIsOutputVerbatim) {
  EXPECT_EQ(R("{% raw %}{{ x }} {% if %}{% endraw %}"), "{{ x }} {% if %}");
  EXPECT_EQ(R("a {%- raw -%} {{ x }} {%- endraw -%} b"), "a{{ x }}b");
}

TEST(TemplateTest, CloseMarkersInsideStringsAndDictsDoNotEndTheTag) {
  EXPECT_EQ(R("{{ '}}' }}{{ {'a': {'b': 1}}}}"), "}}{'a': {'b': 1}}");
  EXPECT_EQ(R("{% if '%}' %}yes{% endif %}"), "yes");
}

// ---- Printing values as Python's str() does ----------------------------------------------------

TEST(TemplateTest, ScalarsPrintAsPythonStr) {
  EXPECT_EQ(R("{{ none }} {{ None }} {{ true }} {{ False }} {{ 42 }} {{ 'text' }}"),
            "None None True False 42 text");
}

TEST(TemplateTest, FloatsPrintAsPythonRepr) {
  EXPECT_EQ(R("{{ 1.0 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1e16 }} {{ 1e15 }} {{ 1e-5 }} {{ 0.0001 }}"),
            "1.0 0.30000000000000004 1e+20 1e+16 1000000000000000.0 1e-05 0.0001");
  EXPECT_EQ(R("{{ -0.0 }} {{ 2.5e-7 }} {{ 1.5e300 * 1e300 }}"), "-0.0 2.5e-07 inf");
}

TEST(TemplateTest, ListsAndDictsPrintAsPythonRepr) {
  EXPECT_EQ(R("{{ ['a', 1, none, true, 1.5] }} {{ {'a': [1, 'x']} }}"),
            "['a', 1, None, True, 1.5] {'a': [1, 'x']}");
  EXPECT_EQ(R(R"({{ ["it's", 'a"b', 'x\ny'] }})"), R"(["it's", 'a"b', 'x\ny'])");
}

TEST(TemplateTest, TuplesAreLists) {
  EXPECT_EQ(R("{{ ('a', 'b') }} {{ (1,) }}"), "['a', 'b'] [1]");
}

TEST(TemplateTest, DatetimePrintsAsPythonStrAndReprInsideLists) {
  Context context = With("d", ExecutionDate());
  EXPECT_EQ(R("{{ d }} | {{ [d] }}", context),
            "2024-01-31 06:30:00 | [datetime.datetime(2024, 1, 31, 6, 30)]");
  EXPECT_EQ(R("{{ d.date() }} | {{ [d.date()] }}", context),
            "2024-01-31 | [datetime.date(2024, 1, 31)]");
}

TEST(TemplateTest, ValueStrAndTruthinessFollowPython) {
  EXPECT_EQ(Value(1e20).Str(), "1e+20");
  EXPECT_EQ(Value(List{"a", 1}).Str(), "['a', 1]");
  EXPECT_EQ(Value(Dict{{"a", 1}}).Str(), "{'a': 1}");
  EXPECT_FALSE(Value::Undefined("x").Truthy());
  EXPECT_FALSE(Value(List{}).Truthy());
  EXPECT_FALSE(Value(0.0).Truthy());
  EXPECT_TRUE(Value(" ").Truthy());
  EXPECT_THROW(Value::Undefined("'x' is undefined").Str(), TemplateError);
}

TEST(TemplateTest, FromJsonKeepsObjectOrderAndTypes) {
  auto json = nlohmann::ordered_json::parse(R"({"b": [1, 2.5, "x", null, true], "a": {"c": 1}})");
  Value value = Value::FromJson(json);
  EXPECT_EQ(value.Str(), "{'b': [1, 2.5, 'x', None, True], 'a': {'c': 1}}");
  EXPECT_EQ(R("{{ v.a.c }}", With("v", value)), "1");
}

// ---- Literals and operators --------------------------------------------------------------------

TEST(TemplateTest, StringLiteralsDecodeEscapesAndAdjacentLiteralsJoin) {
  EXPECT_EQ(R(R"({{ 'it\'s' }} {{ "a\tb" }} {{ '\u00e9\x41' }} {{ '\d' }} {{ 'a' "b" }})"),
            "it's a\tb \xc3\xa9"
            "A \\d ab");
}

TEST(TemplateTest, NumberLiteralsAcceptUnderscoresAndExponents) {
  EXPECT_EQ(R("{{ 1_000 }} {{ 1.5e3 }} {{ 2E-3 }}"), "1000 1500.0 0.002");
}

TEST(TemplateTest, ArithmeticFollowsPython) {
  EXPECT_EQ(R("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 10 / 4 }} {{ 4 / 2 }} {{ 10 % 3.5 }}"),
            "3 -4 2 2.5 2.0 3.0");
  EXPECT_EQ(R("{{ 2 ** 10 }} {{ 2 ** -1 }} {{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ true + 1 }}"),
            "1024 0.5 7 9 2");
}

TEST(TemplateTest, PowerAndUnaryMinusBindAsInJinja) {
  EXPECT_EQ(R("{{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ -3|abs }}"), "64 4 3");
}

TEST(TemplateTest, SequencesConcatenateAndRepeat) {
  EXPECT_EQ(R("{{ 'ab' + 'c' }} {{ 'ab' * 2 }} {{ [1] + [2] }} {{ [0] * 3 }}"),
            "abc abab [1, 2] [0, 0, 0]");
}

TEST(TemplateTest, TildeJoinsTheStrOfEachSide) {
  EXPECT_EQ(R("{{ 'a' ~ 1 ~ none ~ 1.0 }}"), "a1None1.0");
}

TEST(TemplateTest, PercentOperatorFormatsLikePython) {
  EXPECT_EQ(R("{{ '%s-%05d|%.2f|%-3s|%x|%r' % ('a', 42, 3.14159, 'b', 255, 'q') }}"),
            "a-00042|3.14|b  |ff|'q'");
  EXPECT_EQ(R("{{ '%(n)s=%(v)d' % {'n': 'x', 'v': 1} }} {{ '100%%' % () }}"), "x=1 100%");
}

TEST(TemplateTest, ComparisonsChainAndCompareNumbersAcrossTypes) {
  EXPECT_EQ(R("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ 'a' < 'b' }}"),
            "True False True True True");
  EXPECT_EQ(R("{{ [1, 2] < [1, 3] }} {{ [1] == [1.0] }} {{ {'a': 1} == {'a': 1} }}"),
            "True True True");
}

TEST(TemplateTest, InTestsSubstringsElementsAndKeys) {
  EXPECT_EQ(R("{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [3] }}"),
            "True True True False");
}

TEST(TemplateTest, AndOrReturnTheDecidingOperand) {
  EXPECT_EQ(R("{{ 0 or 'x' }} {{ 1 and 'y' }} {{ '' and 1 }}| {{ not 0 }} {{ not 'a' }}"),
            "x y | True False");
}

TEST(TemplateTest, InlineIfChoosesABranch) {
  EXPECT_EQ(R("{{ 'a' if 1 else 'b' }} {{ 'a' if 0 else 'b' }} {{ 1 if 0 else 2 if 1 else 3 }}"),
            "a b 2");
}

TEST(TemplateTest, InlineIfWithoutElseIsEmptyWhenFalse) {
  EXPECT_EQ(R("[{{ 'x' if false }}]"), "[]");
}

TEST(TemplateTest, AttributesAndSubscriptsReadDictsAndLists) {
  Context context = With("row", Value(Dict{{"name", "orders"}, {"cols", List{"id", "ts"}}}));
  EXPECT_EQ(
      R("{{ row.name }} {{ row['name'] }} {{ row.cols[1] }} {{ row.cols[-1] }} {{ row.cols.0 }}",
        context),
      "orders orders ts ts id");
}

TEST(TemplateTest, SlicesFollowPython) {
  EXPECT_EQ(
      R("{{ [1, 2, 3, 4][1:3] }} {{ [1, 2, 3][-2:] }} {{ 'hello'[::-1] }} {{ [1, 2, 3][::2] }}"),
      "[2, 3] [2, 3] olleh [1, 3]");
  EXPECT_EQ(R("{{ 'héllo'[1:3] }} {{ [1][5:] }}"), "él []");
}

// ---- Undefined values (Kiln is stricter than Mage here on purpose) -----------------------------

TEST(TemplateTest, PrintingAnUndefinedNameFailsWithItsLine) {
  EXPECT_EQ(ErrorOf("SELECT 1\nFROM {{ foo }}"), "test.sql:2: 'foo' is undefined");
}

TEST(TemplateTest, ComputingWithAnUndefinedNameFails) {
  EXPECT_EQ(ErrorOf("{{ foo + 1 }}"), "test.sql:1: 'foo' is undefined");
  EXPECT_EQ(ErrorOf("{{ foo == 1 }}"), "test.sql:1: 'foo' is undefined");
  EXPECT_EQ(ErrorOf("{{ 'a' ~ foo }}"), "test.sql:1: 'foo' is undefined");
  EXPECT_EQ(ErrorOf("{{ -foo }}"), "test.sql:1: 'foo' is undefined");
}

TEST(TemplateTest, UsingAnUndefinedNameAsObjectFails) {
  EXPECT_EQ(ErrorOf("{{ foo() }}"), "test.sql:1: 'foo' is undefined");
  EXPECT_EQ(ErrorOf("{{ foo.bar }}"), "test.sql:1: 'foo' is undefined");
  EXPECT_EQ(ErrorOf("{{ foo['bar'] }}"), "test.sql:1: 'foo' is undefined");
  EXPECT_EQ(ErrorOf("{{ foo.upper() }}"), "test.sql:1: 'foo' is undefined");
  EXPECT_EQ(ErrorOf("{% for x in foo %}{% endfor %}"), "test.sql:1: 'foo' is undefined");
  EXPECT_EQ(ErrorOf("{{ foo|upper }}"), "test.sql:1: 'foo' is undefined");
}

TEST(TemplateTest, DefinedTestsAcceptUndefinedNames) {
  EXPECT_EQ(R("{{ foo is defined }} {{ foo is not defined }} {{ foo is undefined }}"),
            "False True True");
}

TEST(TemplateTest, DefaultFilterReplacesUndefinedName) {
  EXPECT_EQ(R("{{ foo|default('x') }} {{ foo|d('y') }} [{{ foo|default }}]"), "x y []");
}

TEST(TemplateTest, DefaultFilterKeepsDefinedFalsyValuesUnlessBooleanIsSet) {
  EXPECT_EQ(R("[{{ ''|default('x') }}] {{ none|default('x') }} {{ ''|default('x', true) }}"),
            "[] None x");
}

TEST(TemplateTest, UndefinedNameIsFalseInConditions) {
  EXPECT_EQ(R("{% if foo %}a{% else %}b{% endif %} {{ not foo }} {{ foo or 'c' }}"), "b True c");
}

TEST(TemplateTest, MissingDictKeyIsUndefinedWithJinjasMessage) {
  Context context = With("d", Value(Dict{{"a", 1}}));
  EXPECT_EQ(ErrorOf("{{ d.x }}", context), "test.sql:1: 'dict object' has no attribute 'x'");
  EXPECT_EQ(ErrorOf("{{ d['x'] }}", context), "test.sql:1: 'dict object' has no attribute 'x'");
  EXPECT_EQ(R("{{ d.x|default('none') }} {{ d.x is defined }}", context), "none False");
}

TEST(TemplateTest, MissingListElementAndAttributeAreUndefined) {
  EXPECT_EQ(ErrorOf("{{ [1][5] }}"), "test.sql:1: list object has no element 5");
  EXPECT_EQ(ErrorOf("{{ 'abc'.nope }}"), "test.sql:1: 'str object' has no attribute 'nope'");
  EXPECT_EQ(ErrorOf("{{ none.x }}"), "test.sql:1: 'None' has no attribute 'x'");
}

TEST(TemplateTest, EmptySequenceFirstIsUndefined) {
  EXPECT_EQ(ErrorOf("{{ []|first }}"), "test.sql:1: No first item, sequence was empty.");
}

// ---- Statements --------------------------------------------------------------------------------

TEST(TemplateTest, IfElifElsePicksTheFirstTrueBranch) {
  const char* source = "{% if n > 1 %}big{% elif n == 1 %}one{% else %}none{% endif %}";
  EXPECT_EQ(R(source, With("n", Value(5))), "big");
  EXPECT_EQ(R(source, With("n", Value(1))), "one");
  EXPECT_EQ(R(source, With("n", Value(0))), "none");
}

TEST(TemplateTest, ForLoopExposesLoopVariables) {
  EXPECT_EQ(R("{% for c in ['a', 'b', 'c'] %}{{ loop.index }}{{ loop.index0 }}{{ c }}"
              "{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }};{% endfor %}"),
            "10aTrueFalse33;21bFalseFalse32;32cFalseTrue31;");
}

TEST(TemplateTest, ForLoopJoinsColumnsWithoutTrailingComma) {
  Context context = With("cols", Value(List{"id", "name", "ts"}));
  EXPECT_EQ(R("SELECT {% for c in cols %}{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}",
              context),
            "SELECT id, name, ts");
}

TEST(TemplateTest, ForLoopOverDictVisitsKeysAndItemsUnpacks) {
  Context context = With("d", Value(Dict{{"b", 2}, {"a", 1}}));
  EXPECT_EQ(R("{% for k in d %}{{ k }}{% endfor %}", context), "ba");
  EXPECT_EQ(R("{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}", context), "b=2,a=1,");
  EXPECT_EQ(R("{% for (k, v) in [['x', 1]] %}{{ k }}{{ v }}{% endfor %}"), "x1");
}

TEST(TemplateTest, ForLoopElseRunsWhenNothingIsVisited) {
  EXPECT_EQ(R("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
}

TEST(TemplateTest, ForLoopIfFilterSkipsItemsAndLoopCountsOnlyKeptOnes) {
  EXPECT_EQ(R("{% for x in [1, 2, 3] if x > 1 %}{{ loop.index }}/{{ loop.length }} {% endfor %}"),
            "1/2 2/2 ");
}

TEST(TemplateTest, NestedLoopsSeeTheirOwnLoopVariable) {
  EXPECT_EQ(R("{% for a in [1, 2] %}{% for b in 'xy' %}{{ loop.index }}{{ b }}{% endfor %}"
              "{{ loop.index }};{% endfor %}"),
            "1x2y1;1x2y2;");
}

TEST(TemplateTest, LoopCycleAndNeighbours) {
  EXPECT_EQ(R("{% for x in 'abc' %}{{ loop.cycle('odd', 'even') }}{{ loop.previtem|default('-') }}"
              "{% endfor %}"),
            "odd-evenaoddb");
}

TEST(TemplateTest, SetDefinesAVariable) {
  EXPECT_EQ(R("{% set t = 'orders' ~ '_v1' %}SELECT * FROM {{ t }}"), "SELECT * FROM orders_v1");
}

TEST(TemplateTest, SetInsideLoopDoesNotLeakButSetInsideIfDoes) {
  EXPECT_EQ(R("{% set c = 0 %}{% for x in [1, 2] %}{% set c = c + 1 %}{{ c }}{% endfor %}{{ c }}"),
            "110");
  EXPECT_EQ(R("{% if true %}{% set y = 1 %}{% endif %}{{ y }}"), "1");
  EXPECT_EQ(R("{% for x in [1] %}{% endfor %}{{ x is defined }}"), "False");
  EXPECT_EQ(R("{% set c = 1 %}{% for x in [] %}{% else %}{% set c = 2 %}{% endfor %}{{ c }}"), "1");
}

TEST(TemplateTest, BlockSetCapturesRenderedText) {
  EXPECT_EQ(R("{% set x %}a{{ 1 }}b{% endset %}[{{ x }}]"), "[a1b]");
}

TEST(TemplateTest, ContextValuesShadowBuiltinGlobals) {
  EXPECT_EQ(R("{{ range }}", With("range", Value("mine"))), "mine");
}

// ---- Filters -----------------------------------------------------------------------------------

TEST(TemplateTest, CaseFiltersChangeAsciiLetters) {
  EXPECT_EQ(R("{{ 'ab'|upper }} {{ 'AB'|lower }} {{ 'hello wORLD-foo(bar'|title }} {{ "
              "'hELLO'|capitalize }}"),
            "AB ab Hello World-Foo(Bar Hello");
}

TEST(TemplateTest, TrimAndReplaceFilters) {
  EXPECT_EQ(R("[{{ '  x \n'|trim }}] {{ 'xxaxx'|trim('x') }} {{ 'aaa'|replace('a', 'b') }} "
              "{{ 'aaa'|replace('a', 'b', 2) }}"),
            "[x] a bbb bba");
}

TEST(TemplateTest, JoinFilterUsesStrOfEachItem) {
  EXPECT_EQ(R("{{ [1, 'a']|join(', ') }} {{ [1, 2]|join }} {{ [{'n': 'x'}, {'n': 'y'}]|join('|', "
              "attribute='n') }}"),
            "1, a 12 x|y");
}

TEST(TemplateTest, LengthAndCountCountItemsAndCharacters) {
  EXPECT_EQ(R("{{ [1, 2]|length }} {{ 'héllo'|length }} {{ {'a': 1}|count }}"), "2 5 1");
}

TEST(TemplateTest, IntAndFloatFiltersConvertOrFallBack) {
  EXPECT_EQ(R("{{ '42'|int + 1 }} {{ '1.9'|int }} {{ 3.9|int }} {{ 'x'|int }} {{ 'x'|int(-1) }} "
              "{{ '0x1f'|int(base=16) }} {{ none|int }}"),
            "43 1 3 0 -1 31 0");
  EXPECT_EQ(R("{{ '3.5'|float }} {{ 2|float }} {{ 'x'|float }}"), "3.5 2.0 0.0");
}

TEST(TemplateTest, StringFilterAndSafeAndEscape) {
  EXPECT_EQ(R("{{ 1|string ~ 'x' }} {{ '<b>'|safe }} {{ '<a href=\"x\">&\\''|e }}"),
            "1x <b> &lt;a href=&#34;x&#34;&gt;&amp;&#39;");
}

TEST(TemplateTest, TojsonWritesSortedHtmlSafeJson) {
  EXPECT_EQ(R("{{ {'b': [1, 2.0, none, true], 'a': '<x>'}|tojson }} {{ 'é'|tojson }}"),
            R"({"a": "\u003cx\u003e", "b": [1, 2.0, null, true]} "\u00e9")");
  EXPECT_EQ(R("{{ [1, {'k': 'v'}]|tojson(indent=2) }}"), "[\n  1,\n  {\n    \"k\": \"v\"\n  }\n]");
}

TEST(TemplateTest, FirstLastAndListFilters) {
  EXPECT_EQ(R("{{ [1, 2]|first }} {{ [1, 2]|last }} {{ 'abc'|first }} {{ 'ab'|list }} {{ {'k': "
              "1}|list }}"),
            "1 2 a ['a', 'b'] ['k']");
}

TEST(TemplateTest, RoundFilterRoundsHalfToEvenLikePython) {
  EXPECT_EQ(
      R("{{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 3|round }} {{ 15|round(-1) }}"),
      "2.0 4.0 2.67 3 20");
  EXPECT_EQ(R("{{ 2.561|round(1, 'floor') }} {{ 2.561|round(0, 'ceil') }}"), "2.5 3.0");
}

TEST(TemplateTest, AbsFilter) {
  EXPECT_EQ(R("{{ -5|abs }} {{ -1.5|abs }}"), "5 1.5");
}

TEST(TemplateTest, SortIsCaseInsensitiveByDefaultAndStable) {
  EXPECT_EQ(R("{{ ['b', 'A', 'a']|sort }} {{ ['b', 'A', 'a']|sort(case_sensitive=true) }} "
              "{{ [3, 1, 2]|sort(reverse=true) }}"),
            "['A', 'a', 'b'] ['A', 'a', 'b'] [3, 2, 1]");
  EXPECT_EQ(R("{{ [{'a': 2}, {'a': 1}]|sort(attribute='a') }}"), "[{'a': 1}, {'a': 2}]");
}

TEST(TemplateTest, ReverseUniqueSumMinMaxFilters) {
  EXPECT_EQ(R("{{ 'abc'|reverse }} {{ [1, 2]|reverse }} {{ ['B', 'a', 'A', 'b']|unique }} "
              "{{ [1, 2.5]|sum }} {{ [{'v': 2}, {'v': 3}]|sum(attribute='v') }} {{ [3, 1]|min }} "
              "{{ ['b', 'A']|max }}"),
            "cba [2, 1] ['B', 'a'] 3.5 5 1 b");
}

TEST(TemplateTest, FormatFilterIsPercentFormatting) {
  EXPECT_EQ(R("{{ '%s-%d'|format('a', 3) }} {{ '%(x)s!'|format(x=1) }}"), "a-3 1!");
}

TEST(TemplateTest, MapSelectAndRejectFilters) {
  EXPECT_EQ(R("{{ ['a', 'b']|map('upper')|join }} {{ [{'n': 1}, {}]|map(attribute='n', "
              "default=0)|list }} "
              "{{ [1, 2, 3]|select('odd')|list }} {{ [1, 2, 3]|reject('odd')|list }} "
              "{{ [{'a': 1}, {'a': 0}]|selectattr('a')|list }} {{ {'k': 1}|items|list }}"),
            "AB [1, 0] [1, 3] [2] [{'a': 1}] [['k', 1]]");
}

// ---- Tests -------------------------------------------------------------------------------------

TEST(TemplateTest, TypeTests) {
  EXPECT_EQ(R("{{ none is none }} {{ 1 is not none }} {{ 'a' is string }} {{ 1.5 is number }} "
              "{{ {} is mapping }} {{ [] is iterable }} {{ 1 is iterable }} {{ 1 is integer }}"),
            "True True True True True True False True");
}

TEST(TemplateTest, ValueTests) {
  EXPECT_EQ(R("{{ 4 is even }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(2) }} "
              "{{ x is sameas false }} {{ 'ab' is lower }} {{ 2 is in [1, 2] }} {{ 2 is eq 2 }}",
              With("x", Value(false))),
            "True True True False True True True True");
}

// ---- Methods and globals -----------------------------------------------------------------------

TEST(TemplateTest, StringMethodsFollowPython) {
  EXPECT_EQ(R("{{ 'ab'.upper() }} {{ 'AB'.lower() }} [{{ ' x '.strip() }}] [{{ ' x '.lstrip() }}] "
              "[{{ ' x '.rstrip() }}] {{ 'xay'.strip('xy') }} {{ 'a-b'.replace('-', '_') }}"),
            "AB ab [x] [x ] [ x] a a_b");
  EXPECT_EQ(R("{{ 'a,b,,c'.split(',') }} {{ 'a,b,c'.split(',', 1) }} {{ ' a  b '.split() }}"),
            "['a', 'b', '', 'c'] ['a', 'b,c'] ['a', 'b']");
  EXPECT_EQ(R("{{ 'Hello'.startswith('He') }} {{ 'a.sql'.endswith(('.py', '.sql')) }} "
              "{{ ', '.join(['a', 'b']) }} {{ \"they're\".title() }} {{ 'hELLO'.capitalize() }} "
              "{{ '42'.zfill(5) }} {{ '-42'.zfill(5) }}"),
            "True True a, b They'Re Hello 00042 -0042");
}

TEST(TemplateTest, StringFormatMethodFollowsPython) {
  EXPECT_EQ(R("{{ '{} {}'.format('a', 1) }} {{ '{0}-{0}'.format('x') }} {{ '{n}!'.format(n=2) }}"),
            "a 1 x-x 2!");
  EXPECT_EQ(R("{{ '{:>5}|{:<3}|{:^5}|{:05.2f}|{:,}|{:x}|{:.1%}'.format('ab', 'c', 'd', 3.14159, "
              "1234567, 255, 0.123) }}"),
            "   ab|c  |  d  |03.14|1,234,567|ff|12.3%");
  EXPECT_EQ(
      R("{{ '{:%Y/%m/%d}'.format(d) }} {{ '{0!r}'.format('q') }}", With("d", ExecutionDate())),
      "2024/01/31 'q'");
}

TEST(TemplateTest, DictAndListMethods) {
  Context context = With("d", Value(Dict{{"a", 1}, {"b", 2}}));
  EXPECT_EQ(
      R("{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 0) }} {{ d.keys() }} {{ d.values() }} "
        "{{ d.items() }}",
        context),
      "1 None 0 ['a', 'b'] [1, 2] [['a', 1], ['b', 2]]");
  EXPECT_EQ(R("{{ [1, 2, 1].index(2) }} {{ [1, 2, 1].count(1) }}"), "1 2");
}

TEST(TemplateTest, DatetimeMethodsAndAttributes) {
  Context context = With("d", ExecutionDate());
  EXPECT_EQ(R("{{ d.strftime('%Y-%m-%d %H:%M') }} {{ d.isoformat() }} {{ d.date() }} "
              "{{ d.date().isoformat() }} {{ d.weekday() }}",
              context),
            "2024-01-31 06:30 2024-01-31T06:30:00 2024-01-31 2024-01-31 2");
  EXPECT_EQ(R("{{ d.year }} {{ d.month }} {{ d.day }} {{ d.hour }} {{ d.minute }} {{ d.second }} "
              "{{ d.microsecond }} {{ d['year'] }}",
              context),
            "2024 1 31 6 30 0 0 2024");
  EXPECT_EQ(ErrorOf("{{ d.date().hour }}", context),
            "test.sql:1: 'datetime.date object' has no attribute 'hour'");
}

TEST(TemplateTest, DatetimeReplaceBuildsANewDate) {
  Context context = With("d", ExecutionDate());
  EXPECT_EQ(R("{{ d.replace(day=1) }} {{ d.replace(month=2, day=29, hour=0) }} "
              "{{ d.date().replace(year=2020) }}",
              context),
            "2024-01-01 06:30:00 2024-02-29 00:30:00 2020-01-31");
  EXPECT_EQ(ErrorOf("{{ d.replace(month=2) }}", context),
            "test.sql:1: replace(): the result is not a valid date and time");
}

TEST(TemplateTest, DatetimesCompare) {
  Context context = With("d", ExecutionDate());
  context.Set("later", Value(DateTime::FromParts(2024, 2, 1)));
  EXPECT_EQ(R("{{ d < later }} {{ d == d }} {{ d.date() == later.date() }}", context),
            "True True False");
}

TEST(TemplateTest, RangeAndDictGlobals) {
  EXPECT_EQ(R("{{ range(3) }} {{ range(1, 10, 3) }} {{ range(3, 0, -1) }} {{ dict(a=1, b='x') }}"),
            "[0, 1, 2] [1, 4, 7] [3, 2, 1] {'a': 1, 'b': 'x'}");
}

TEST(TemplateTest, FunctionInContextReceivesPositionalAndKeywordArguments) {
  Function describe = [](const CallArgs& args) {
    std::string out;
    for (const Value& v : args.positional) out += v.Str() + ";";
    for (const auto& [k, v] : args.keyword) out += k + "=" + v.Str() + ";";
    return Value(out);
  };
  EXPECT_EQ(R("{{ f(1, 'a', x=true) }}", With("f", Value(describe))), "1;a;x=True;");
}

TEST(TemplateTest, LambdaConvertsToAFunctionValue) {
  Context context;
  context.Set("twice",
              [](const CallArgs& args) { return Value(args.positional.at(0).AsInt() * 2); });
  EXPECT_EQ(R("{{ twice(21) }}", context), "42");
}

TEST(TemplateTest, FunctionStoredInDictIsCallableAsAttribute) {
  Function now = [](const CallArgs&) { return Value("called"); };
  EXPECT_EQ(R("{{ m.now() }}", With("m", Value(Dict{{"now", Value(now)}}))), "called");
}

// ---- Mage SQL blocks ---------------------------------------------------------------------------

Context MageContext() {
  Context context;
  context.Set("df_1", Value("\"analytics\".public.orders_v1"));
  context.Set("execution_date", ExecutionDate());
  context.Set("ds", Value("2024-01-31"));
  context.Set("env_var", [](const CallArgs& args) {
    std::string name = args.positional.at(0).Str();
    if (name == "SCHEMA") return Value("staging");
    return Value::Undefined("environment variable '" + name + "' is not set");
  });
  Dict variables{{"min_amount", 10}, {"countries", List{"FR", "DE"}}};
  context.Set("variables", [variables](const CallArgs& args) {
    for (const auto& [name, value] : variables) {
      if (name == args.positional.at(0).Str()) return value;
    }
    return Value::None();
  });
  return context;
}

TEST(TemplateTest, MageSqlWithUpstreamTableAndExecutionDate) {
  EXPECT_EQ(R("SELECT * FROM {{ df_1 }} WHERE d = '{{ execution_date.strftime(\"%Y-%m-%d\") }}'\n",
              MageContext()),
            "SELECT * FROM \"analytics\".public.orders_v1 WHERE d = '2024-01-31'");
}

TEST(TemplateTest, MageSqlReadsEnvironmentVariablesThroughAFunction) {
  EXPECT_EQ(R("CREATE TABLE {{ env_var('SCHEMA') }}.t AS SELECT 1", MageContext()),
            "CREATE TABLE staging.t AS SELECT 1");
  EXPECT_EQ(R("{{ env_var('UNSET')|default('public') }} {{ env_var('UNSET') is defined }}",
              MageContext()),
            "public False");
  EXPECT_EQ(ErrorOf("SELECT 1\nFROM {{ env_var('UNSET') }}.t", MageContext()),
            "test.sql:2: environment variable 'UNSET' is not set");
}

TEST(TemplateTest, MageSqlReadsPipelineVariables) {
  EXPECT_EQ(R("WHERE amount >= {{ variables('min_amount') }}\n"
              "  AND country IN ({% for c in variables('countries') %}'{{ c }}'"
              "{{ ', ' if not loop.last }}{% endfor %})\n"
              "  AND day = '{{ ds }}'",
              MageContext()),
            "WHERE amount >= 10\n  AND country IN ('FR', 'DE')\n  AND day = '2024-01-31'");
}

TEST(TemplateTest, MageSqlWithConditionalIncrementalFilter) {
  const char* source =
      "SELECT *\n"
      "FROM {{ df_1 }}\n"
      "{% if execution_date.day == 31 -%}\n"
      "WHERE created_at >= '{{ execution_date.date() }}'\n"
      "{%- endif %}\n";
  EXPECT_EQ(R(source, MageContext()),
            "SELECT *\nFROM \"analytics\".public.orders_v1\nWHERE created_at >= '2024-01-31'");
}

TEST(TemplateTest, MageIoConfigYamlIsRenderedWholeBeforeParsing) {
  const char* source =
      "default:\n"
      "  POSTGRES_SCHEMA: \"{{ env_var('SCHEMA') }}\"\n"
      "  POSTGRES_PORT: {{ env_var('PORT')|default(5432) }}\n";
  EXPECT_EQ(R(source, MageContext()),
            "default:\n  POSTGRES_SCHEMA: \"staging\"\n  POSTGRES_PORT: 5432");
}

}  // namespace
}  // namespace kiln::templating
