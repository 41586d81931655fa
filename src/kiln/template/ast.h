// template/ast.h (internal): the parsed form of a template.
// A template is a Body: a sequence of Nodes (text, `{{ expr }}`, if, for, set). Expressions are
// trees of Expr. Every node keeps the 1-based line it starts on, for error messages.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "kiln/template/value.h"

namespace kiln::templating::internal {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

//! The argument expressions of a call, filter or test: `(a, b, key=c)`.
struct ArgExprs {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> keyword;
};

//! A constant: 'text', 42, 1.5, true, none.
struct Literal {
  Value value;
};
//! A variable reference: `execution_date`.
struct Name {
  std::string name;
};
//! `[a, b]` or `(a, b)`.
struct ListExpr {
  std::vector<ExprPtr> items;
};
//! `{'k': v}`.
struct DictExpr {
  std::vector<std::pair<ExprPtr, ExprPtr>> items;
};
//! `object.name`: a dict key or a datetime attribute.
struct Attribute {
  ExprPtr object;
  std::string name;
};
//! `object[key]`.
struct Item {
  ExprPtr object;
  ExprPtr key;
};
//! `object[start:stop:step]`; omitted parts are null.
struct Slice {
  ExprPtr object;
  ExprPtr start;
  ExprPtr stop;
  ExprPtr step;
};
//! `callee(args)`; when callee is an Attribute this may be a method call like `s.upper()`.
struct Call {
  ExprPtr callee;
  ArgExprs args;
};
//! `operand|name(args)`.
struct Filter {
  ExprPtr operand;
  std::string name;
  ArgExprs args;
};
//! `operand is [not] name(args)`.
struct Test {
  ExprPtr operand;
  std::string name;
  ArgExprs args;
  bool negated;
};
//! `-x`, `+x`, `not x` (op is "-", "+" or "not").
struct Unary {
  std::string op;
  ExprPtr operand;
};
//! `a op b` for + - * / // % ** ~ and or.
struct Binary {
  std::string op;
  ExprPtr left;
  ExprPtr right;
};
//! A comparison chain `a < b <= c`; ops are == != < <= > >= in "not in".
struct Comparison {
  ExprPtr first;
  std::vector<std::pair<std::string, ExprPtr>> rest;
};
//! `then if condition else otherwise`; otherwise is null when the else part is omitted.
struct Conditional {
  ExprPtr condition;
  ExprPtr then;
  ExprPtr otherwise;
};

struct Expr {
  int line;
  std::variant<Literal, Name, ListExpr, DictExpr, Attribute, Item, Slice, Call, Filter, Test, Unary,
               Binary, Comparison, Conditional>
      node;
};

struct Node;
using Body = std::vector<Node>;

//! Literal output text.
struct TextNode {
  std::string text;
};
//! `{{ expr }}`.
struct PrintNode {
  ExprPtr expr;
};
//! One `{% if %}`/`{% elif %}` condition and the body it guards.
struct Branch {
  ExprPtr condition;
  Body body;
};
//! `{% if %}...{% elif %}...{% else %}...{% endif %}`.
struct IfNode {
  std::vector<Branch> branches;
  Body otherwise;
};
//! `{% for a[, b] in iterable [if filter] %}...{% else %}...{% endfor %}`.
struct ForNode {
  std::vector<std::string> targets;
  ExprPtr iterable;
  ExprPtr filter;  // null when absent
  Body body;
  Body otherwise;
};
//! `{% set name = value %}`, or `{% set name %}body{% endset %}` when value is null.
struct SetNode {
  std::string name;
  ExprPtr value;
  Body body;
};

struct Node {
  int line;
  std::variant<TextNode, PrintNode, IfNode, ForNode, SetNode> node;
};

}  // namespace kiln::templating::internal
