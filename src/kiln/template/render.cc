#include "kiln/template/render.h"

#include <algorithm>
#include <vector>

#include "kiln/template/ast.h"
#include "kiln/template/builtins.h"
#include "kiln/template/lexer.h"
#include "kiln/template/operators.h"
#include "kiln/template/parser.h"

namespace kiln::templating {
namespace internal {
namespace {

// Evaluates a parsed template. Variables set by the template live in a stack of scopes: the
// template's own, then one per for-loop iteration or else branch (so, as in Jinja, a `set` inside
// a loop is not seen after it, while one inside an `if` is).
class Renderer {
 public:
  Renderer(const Context& context, std::string_view origin) : context_(context), origin_(origin) {
    scopes_.emplace_back();
  }

  void Execute(const Body& body, std::string& out) {
    for (const Node& node : body) {
      Located(node.line, [&] {
        std::visit([&](const auto& n) { Execute(n, out); }, node.node);
        return 0;
      });
    }
  }

 private:
  using Scope = std::map<std::string, Value, std::less<>>;

  // Runs `action`, giving an unlocated TemplateError (or a kiln::Error from a Function) the
  // origin and `line`.
  template <typename Action>
  auto Located(int line, Action&& action) -> decltype(action()) {
    try {
      return action();
    } catch (const TemplateError& e) {
      if (e.located()) throw;
      throw TemplateError(std::string(origin_), line, e.message());
    } catch (const kiln::Error& e) {
      throw TemplateError(std::string(origin_), line, e.what());
    }
  }

  void Execute(const TextNode& node, std::string& out) { out += node.text; }
  void Execute(const PrintNode& node, std::string& out) { out += Eval(*node.expr).Str(); }
  void Execute(const IfNode& node, std::string& out);
  void Execute(const ForNode& node, std::string& out);
  void Execute(const SetNode& node, std::string& /*out*/);  // writes nothing
  // Binds a loop item to the loop variables (`for k, v in ...` unpacks a two-item list).
  void Bind(const std::vector<std::string>& targets, const Value& item);

  Value Eval(const Expr& expr) {
    return Located(expr.line, [&] {
      return std::visit([&](const auto& node) { return Eval(node); }, expr.node);
    });
  }
  Value Eval(const Literal& node) { return node.value; }
  Value Eval(const Name& node) { return Lookup(node.name); }
  Value Eval(const ListExpr& node);
  Value Eval(const DictExpr& node);
  Value Eval(const Attribute& node) { return GetAttribute(Eval(*node.object), node.name); }
  Value Eval(const Item& node) { return GetItem(Eval(*node.object), Eval(*node.key)); }
  Value Eval(const Slice& node);
  Value Eval(const Call& node);
  Value Eval(const Filter& node) {
    Value operand = Eval(*node.operand);
    return ApplyFilter(node.name, operand, EvalArgs(node.args));
  }
  Value Eval(const Test& node) {
    Value operand = Eval(*node.operand);
    return Value(ApplyTest(node.name, operand, EvalArgs(node.args)) != node.negated);
  }
  Value Eval(const Unary& node) {
    Value operand = Eval(*node.operand);
    if (node.op == "not") return Value(!operand.Truthy());
    return UnaryArithmetic(node.op, operand);
  }
  Value Eval(const Binary& node);
  Value Eval(const Comparison& node);
  Value Eval(const Conditional& node) {
    if (Eval(*node.condition).Truthy()) return Eval(*node.then);
    return node.otherwise ? Eval(*node.otherwise) : Value("");
  }
  CallArgs EvalArgs(const ArgExprs& args);

  // A template variable, else a context variable, else a global function, else undefined.
  Value Lookup(std::string_view name) const {
    for (auto scope = scopes_.rbegin(); scope != scopes_.rend(); ++scope) {
      if (auto it = scope->find(name); it != scope->end()) return it->second;
    }
    if (const Value* value = context_.Find(name)) return *value;
    if (auto global = Global(name)) return *global;
    return Value::Undefined("'" + std::string(name) + "' is undefined");
  }

  const Context& context_;
  std::string_view origin_;
  std::vector<Scope> scopes_;
};

void Renderer::Execute(const IfNode& node, std::string& out) {
  for (const Branch& branch : node.branches) {
    if (Eval(*branch.condition).Truthy()) return Execute(branch.body, out);
  }
  Execute(node.otherwise, out);
}

// The `loop` variable of the iteration over `items[index]`.
Value LoopInfo(const List& items, size_t index) {
  auto i = static_cast<int64_t>(index);
  auto length = static_cast<int64_t>(items.size());
  Function cycle = [index](const CallArgs& args) {
    if (args.positional.empty()) throw TemplateError("no items for cycling given");
    return args.positional[index % args.positional.size()];
  };
  return Value(Dict{
      {"index", Value(i + 1)},
      {"index0", Value(i)},
      {"revindex", Value(length - i)},
      {"revindex0", Value(length - i - 1)},
      {"first", Value(index == 0)},
      {"last", Value(index + 1 == items.size())},
      {"length", Value(length)},
      {"previtem", index > 0 ? items[index - 1] : Value::Undefined("there is no previous item")},
      {"nextitem",
       index + 1 < items.size() ? items[index + 1] : Value::Undefined("there is no next item")},
      {"cycle", Value(std::move(cycle))},
  });
}

void Renderer::Execute(const ForNode& node, std::string& out) {
  List items = Iterate(Eval(*node.iterable));
  if (node.filter) {
    List kept;
    for (const Value& item : items) {
      scopes_.emplace_back();
      Bind(node.targets, item);
      bool keep = Eval(*node.filter).Truthy();
      scopes_.pop_back();
      if (keep) kept.push_back(item);
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    scopes_.emplace_back();  // as in Jinja, a `set` in the else branch stays there
    Execute(node.otherwise, out);
    scopes_.pop_back();
    return;
  }
  for (size_t i = 0; i < items.size(); ++i) {
    scopes_.emplace_back();
    scopes_.back()["loop"] = LoopInfo(items, i);
    Bind(node.targets, items[i]);
    Execute(node.body, out);
    scopes_.pop_back();
  }
}

void Renderer::Bind(const std::vector<std::string>& targets, const Value& item) {
  if (targets.size() == 1) {
    scopes_.back()[targets[0]] = item;
    return;
  }
  List values = Iterate(item);
  if (values.size() != targets.size()) {
    throw TemplateError(std::string(values.size() < targets.size() ? "not enough" : "too many") +
                        " values to unpack (expected " + std::to_string(targets.size()) + ", got " +
                        std::to_string(values.size()) + ")");
  }
  for (size_t i = 0; i < targets.size(); ++i) scopes_.back()[targets[i]] = values[i];
}

void Renderer::Execute(const SetNode& node, std::string& /*out*/) {
  if (node.value) {
    scopes_.back()[node.name] = Eval(*node.value);
    return;
  }
  std::string captured;
  Execute(node.body, captured);
  scopes_.back()[node.name] = Value(std::move(captured));
}

Value Renderer::Eval(const ListExpr& node) {
  List items;
  for (const ExprPtr& item : node.items) items.push_back(Eval(*item));
  return Value(std::move(items));
}

Value Renderer::Eval(const DictExpr& node) {
  Dict dict;
  for (const auto& [key_expr, value_expr] : node.items) {
    Value key = Eval(*key_expr);
    RequireDefined(key);
    if (!key.IsString()) {
      throw TemplateError("dict keys must be strings, not '" + key.TypeName() + "'");
    }
    Value value = Eval(*value_expr);
    auto same = [&](const auto& entry) { return entry.first == key.AsString(); };
    if (auto it = std::find_if(dict.begin(), dict.end(), same); it != dict.end()) {
      it->second = std::move(value);
    } else {
      dict.emplace_back(key.AsString(), std::move(value));
    }
  }
  return Value(std::move(dict));
}

Value Renderer::Eval(const Slice& node) {
  auto part = [&](const ExprPtr& expr) { return expr ? Eval(*expr) : Value::None(); };
  Value object = Eval(*node.object);
  return GetSlice(object, part(node.start), part(node.stop), part(node.step));
}

Value Renderer::Eval(const Call& node) {
  Value callee;
  CallArgs args;
  if (const auto* attribute = std::get_if<Attribute>(&node.callee->node)) {
    // `s.upper()`: a method of the value when it has one, else a Function stored under the key.
    Value object = Eval(*attribute->object);
    RequireDefined(object);
    args = EvalArgs(node.args);
    if (auto result = CallMethod(object, attribute->name, args)) return *result;
    callee = GetAttribute(object, attribute->name);
  } else {
    callee = Eval(*node.callee);
    args = EvalArgs(node.args);
  }
  RequireDefined(callee);
  if (!callee.IsFunction()) {
    throw TemplateError("'" + callee.TypeName() + "' object is not callable");
  }
  return callee.AsFunction()(args);
}

Value Renderer::Eval(const Binary& node) {
  Value left = Eval(*node.left);
  if (node.op == "and") return left.Truthy() ? Eval(*node.right) : left;
  if (node.op == "or") return left.Truthy() ? left : Eval(*node.right);
  return Arithmetic(node.op, left, Eval(*node.right));
}

Value Renderer::Eval(const Comparison& node) {
  Value left = Eval(*node.first);
  for (const auto& [op, right_expr] : node.rest) {
    Value right = Eval(*right_expr);
    if (!Compare(op, left, right)) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

CallArgs Renderer::EvalArgs(const ArgExprs& args) {
  CallArgs values;
  for (const ExprPtr& arg : args.positional) values.positional.push_back(Eval(*arg));
  for (const auto& [name, arg] : args.keyword) values.keyword.emplace_back(name, Eval(*arg));
  return values;
}

}  // namespace
}  // namespace internal

void Context::Set(std::string name, Value value) {
  values_[std::move(name)] = std::move(value);
}

const Value* Context::Find(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

std::string Render(std::string_view source, const Context& context, std::string_view origin) {
  std::vector<internal::Token> tokens = internal::Lex(source, origin);
  internal::Body body = internal::Parse(tokens, origin);
  std::string out;
  internal::Renderer(context, origin).Execute(body, out);
  return out;
}

}  // namespace kiln::templating
