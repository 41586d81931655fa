// template/render.h: renders Jinja templates the way Mage renders SQL blocks, io_config.yaml and
// metadata.yaml, without Python.
//
//   Context context;
//   context.Set("df_1", Value("analytics.orders"));
//   context.Set("execution_date", Value(DateTime::FromParts(2024, 1, 31)));
//   std::string sql = Render(
//       "SELECT * FROM {{ df_1 }} WHERE d = '{{ execution_date.strftime('%Y-%m-%d') }}'",
//       context, "transformers/orders.sql");
//
// The language is the Jinja subset Mage projects use: {{ }}, {% if/elif/else %}, {% for %}
// (with loop.*, an `if` filter and {% else %}), {% set %} (also the block form), {# #},
// {% raw %}, whitespace control ({%- -%}), Jinja's operators, filters, tests, and Python's
// str/dict/list/datetime methods; see tests/unit/template_test.cc for every construct. Macros,
// include/extends/import, call blocks and namespace() are not supported.
//
// Jinja's defaults are kept: a newline after a block tag is kept (trim_blocks off) and a single
// trailing newline of the source is dropped (keep_trailing_newline off).
//
// Undefined names (deliberately stricter than Mage, which prints them as ''): a name that is not
// in the context, or a missing dict key, is an undefined value. `is defined`, `|default(...)`,
// `if` and `not` accept it (it is false); printing it, computing, comparing or concatenating with
// it, calling it, iterating it or taking its attribute or item raises a TemplateError with its
// message, e.g. "pipelines/p/x.sql:3: 'foo' is undefined". An inline `a if cond` without `else`
// yields '' when cond is false, as Mage's Jinja prints it.
//
// Other known differences from Jinja on CPython: tuples are lists (so `'%s %s' % (a, b)` spreads
// a list); range(), dict.keys()/items() and the select/map filters return lists, not lazy
// objects; integers are 64-bit (overflow is an error); upper/lower/title change ASCII letters
// only; `escape`/`e` HTML-escapes as Jinja does (it is not SQL quoting) and `safe` returns its
// input; there is no timedelta type.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "kiln/template/error.h"
#include "kiln/template/value.h"

namespace kiln::templating {

//! The variables one render can see: name -> Value. Names set later replace earlier ones.
//! Context names shadow the built-in globals range() and dict().
class Context {
 public:
  //! Defines (or replaces) `name`.
  void Set(std::string name, Value value);
  //! The value of `name`, or nullptr when the context has no such name.
  const Value* Find(std::string_view name) const;

 private:
  std::map<std::string, Value, std::less<>> values_;
};

//! Renders `source` with `context`. `origin` names the source in errors (e.g.
//! "transformers/clean.sql"). Throws TemplateError with the 1-based line of the offending tag or
//! expression: a syntax error, an unknown tag/filter/test, an unclosed block, an undefined value
//! used, a wrong argument count, or an error thrown by a Function in the context (a kiln::Error
//! from a Function becomes a TemplateError with the same message at the line of the call; other
//! exceptions from a Function propagate unchanged).
std::string Render(std::string_view source, const Context& context, std::string_view origin);

}  // namespace kiln::templating
