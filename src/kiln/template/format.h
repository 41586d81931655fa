// template/format.h (internal): Python's text formatting of values.
// `'%s-%d' % (a, b)` and the `format` filter, `'{}-{:02d}'.format(a, b)`, and the `tojson`
// filter (json.dumps). Each throws an unlocated TemplateError with Python's wording on misuse.
#pragma once

#include <string>
#include <string_view>

#include "kiln/template/value.h"

namespace kiln::templating::internal {

//! Python `format % args`: `args` is a list (a Python tuple: one value per conversion), a dict
//! (for `%(name)s`) or a single value. Supports flags `-+ 0#`, width, precision and the
//! conversions s r a d i u f F e E g G x X o c %.
std::string PercentFormat(std::string_view format, const Value& args);

//! Python `format.format(*positional, **keyword)`: fields `{}`, `{0}`, `{name}`, with `!r`/`!s`
//! and a format spec `[[fill]align][sign][#][0][width][,][.precision][type]`; a datetime's spec
//! is a strftime format (`'{:%Y-%m-%d}'`).
std::string StrFormat(std::string_view format, const CallArgs& args);

//! Python `format(value, spec)` for one value, as used by StrFormat().
std::string FormatWithSpec(const Value& value, std::string_view spec);

//! Jinja's `tojson`: json.dumps(value, sort_keys=True, indent=indent) with <, >, & and ' escaped
//! as \u003c-style sequences (safe inside HTML). `indent` < 0 writes one line.
std::string ToJson(const Value& value, int indent);

}  // namespace kiln::templating::internal
