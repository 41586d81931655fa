// template/operators.h (internal): Python's operators, subscripts and iteration on Values.
// All throw an unlocated TemplateError: the undefined value's own message when an operand is
// undefined, or Python's TypeError/ZeroDivisionError wording ("unsupported operand type(s) for
// +: 'int' and 'str'", "division by zero") otherwise.
#pragma once

#include <string_view>

#include "kiln/template/value.h"

namespace kiln::templating::internal {

//! Throws TemplateError(value.UndefinedMessage()) when `value` is undefined.
void RequireDefined(const Value& value);

//! `left op right` for op in + - * / // % ** ~ (`~` joins the str() of both sides).
//! Integers are 64-bit: a result out of range is an error rather than a big integer.
Value Arithmetic(std::string_view op, const Value& left, const Value& right);
//! `-operand` (op "-") or `+operand` (op "+").
Value UnaryArithmetic(std::string_view op, const Value& operand);

//! `left op right` for op in == != < <= > >= in "not in".
bool Compare(std::string_view op, const Value& left, const Value& right);
//! Python `left < right`; throws for values Python cannot order (str and int, ...).
bool Less(const Value& left, const Value& right);
//! Python `item in container`: a substring, a list element or a dict key.
bool Contains(const Value& container, const Value& item);

//! `object.name` as Jinja resolves it: a dict's key, or a datetime's year, month, day, hour,
//! minute, second or microsecond. Otherwise an undefined value saying
//! "'dict object' has no attribute 'name'".
Value GetAttribute(const Value& object, std::string_view name);
//! `object[key]`: a dict key, a list or string position (negative counts from the end), else as
//! GetAttribute() for a string key. Missing entries give an undefined value.
Value GetItem(const Value& object, const Value& key);
//! `object[start:stop:step]` of a string or list; None stands for an omitted part.
Value GetSlice(const Value& object, const Value& start, const Value& stop, const Value& step);

//! The items a for loop visits: a list's elements, a dict's keys or a string's characters.
List Iterate(const Value& value);

}  // namespace kiln::templating::internal
