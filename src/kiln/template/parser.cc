#include "kiln/template/parser.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "kiln/template/builtins.h"
#include "kiln/template/error.h"
#include "kiln/template/text.h"

namespace kiln::templating::internal {
namespace {

// Deeper nesting than this is reported instead of exhausting the stack.
constexpr int kMaxDepth = 200;

// Jinja tags Kiln does not implement, reported as such rather than as unknown.
constexpr std::string_view kUnsupportedTags[] = {
    "macro", "call", "filter", "block", "extends",  "include",    "import",
    "from",  "with", "do",     "break", "continue", "autoescape", "trans"};

// Tags that only close or continue a block.
constexpr std::string_view kContinuationTags[] = {"elif",   "else",   "endif",
                                                  "endfor", "endset", "endraw"};

// Words that cannot be used as variable names.
constexpr std::string_view kKeywords[] = {"and", "or", "not", "in", "is", "if", "else"};

template <typename Range>
bool Contains(const Range& range, std::string_view word) {
  return std::find(std::begin(range), std::end(range), word) != std::end(range);
}

template <typename T>
ExprPtr MakeExpr(int line, T node) {
  return std::make_unique<Expr>(Expr{line, std::move(node)});
}

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, std::string_view origin)
      : tokens_(tokens), origin_(origin) {}

  Body ParseTemplate() { return ParseBody(nullptr); }

 private:
  // The block being parsed: the tags that end or continue it, and where it opened.
  struct OpenBlock {
    std::string_view tag;
    int line;
    std::vector<std::string_view> closers;
  };
  // Counts nesting for kMaxDepth.
  class DepthGuard {
   public:
    explicit DepthGuard(Parser& parser) : parser_(parser) {
      if (++parser_.depth_ > kMaxDepth) parser_.Fail(parser_.Peek().line, "nested too deeply");
    }
    ~DepthGuard() { --parser_.depth_; }

   private:
    Parser& parser_;
  };

  // Statements.
  Body ParseBody(const OpenBlock* open);
  Node ParseStatement(const OpenBlock* open);
  // Consumes "{% <tag>" where <tag> is one of `open`'s closers; returns the tag.
  std::string TakeCloser();
  Node ParseIf(int line);
  Node ParseFor(int line);
  Node ParseSet(int line);

  // Expressions, loosest binding first.
  ExprPtr ParseExpression(bool with_conditional = true);
  ExprPtr ParseOr();
  ExprPtr ParseAnd();
  ExprPtr ParseNot();
  ExprPtr ParseCompare();
  ExprPtr ParseAdditive();
  ExprPtr ParseConcat();
  ExprPtr ParseMultiplicative();
  ExprPtr ParsePower();
  ExprPtr ParseUnary(bool with_filters);
  ExprPtr ParsePrimary();
  ExprPtr ParseSequence(std::string_view close, int line);
  ExprPtr ParseDict(int line);
  ExprPtr ParsePostfix(ExprPtr node);
  ExprPtr ParseSubscript(ExprPtr object);
  ExprPtr ParseFilters(ExprPtr node);
  ExprPtr ParseTest(ExprPtr operand);
  ArgExprs ParseArgs();

  // Token access.
  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& Next() {
    const Token& t = Peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }
  bool IsOp(std::string_view op, size_t ahead = 0) const {
    return Peek(ahead).type == TokenType::kOperator && Peek(ahead).text == op;
  }
  bool IsName(std::string_view name, size_t ahead = 0) const {
    return Peek(ahead).type == TokenType::kName && Peek(ahead).text == name;
  }
  void ExpectOp(std::string_view op) {
    if (!IsOp(op)) Unexpected("'" + std::string(op) + "'");
    Next();
  }
  std::string ExpectName(std::string_view what) {
    if (Peek().type != TokenType::kName || Contains(kKeywords, Peek().text)) Unexpected(what);
    return Next().text;
  }
  void ExpectBlockEnd() {
    if (Peek().type != TokenType::kBlockEnd) Unexpected("'%}'");
    Next();
  }
  [[noreturn]] void Fail(int line, const std::string& message) const {
    throw TemplateError(std::string(origin_), line, message);
  }
  [[noreturn]] void Unexpected(std::string_view expected) const {
    Fail(Peek().line, "expected " + std::string(expected) + ", got " + Describe(Peek()));
  }
  static std::string Describe(const Token& token);

  const std::vector<Token>& tokens_;
  std::string_view origin_;
  size_t pos_ = 0;
  int depth_ = 0;
};

std::string Parser::Describe(const Token& token) {
  switch (token.type) {
    case TokenType::kText:
      return "text";
    case TokenType::kVariableBegin:
      return "'{{'";
    case TokenType::kVariableEnd:
      return "'}}'";
    case TokenType::kBlockBegin:
      return "'{%'";
    case TokenType::kBlockEnd:
      return "'%}'";
    case TokenType::kString:
      return "string " + StringRepr(token.text);
    case TokenType::kEnd:
      return "end of template";
    default:
      return "'" + token.text + "'";
  }
}

Body Parser::ParseBody(const OpenBlock* open) {
  DepthGuard guard(*this);
  Body body;
  while (true) {
    const Token& token = Peek();
    switch (token.type) {
      case TokenType::kText:
        body.push_back(Node{token.line, TextNode{Next().text}});
        break;
      case TokenType::kVariableBegin: {
        Next();
        ExprPtr expr = ParseExpression();
        if (Peek().type != TokenType::kVariableEnd) Unexpected("'}}'");
        Next();
        body.push_back(Node{token.line, PrintNode{std::move(expr)}});
        break;
      }
      case TokenType::kBlockBegin:
        if (open != nullptr && Peek(1).type == TokenType::kName &&
            Contains(open->closers, Peek(1).text)) {
          return body;
        }
        body.push_back(ParseStatement(open));
        break;
      case TokenType::kEnd:
        if (open != nullptr) {
          Fail(open->line, "unclosed '{% " + std::string(open->tag) + " %}' (missing '{% end" +
                               std::string(open->tag) + " %}')");
        }
        return body;
      default:
        Unexpected("text or a tag");
    }
  }
}

Node Parser::ParseStatement(const OpenBlock* open) {
  int line = Next().line;  // {%
  if (Peek().type != TokenType::kName) Unexpected("a tag name");
  std::string tag = Next().text;
  if (tag == "if") return ParseIf(line);
  if (tag == "for") return ParseFor(line);
  if (tag == "set") return ParseSet(line);
  if (Contains(kUnsupportedTags, tag)) Fail(line, "tag '" + tag + "' is not supported");
  if (!Contains(kContinuationTags, tag)) Fail(line, "unknown tag '" + tag + "'");
  if (open == nullptr) Fail(line, "unexpected tag '" + tag + "' outside any block");
  std::string expected;
  for (size_t i = 0; i < open->closers.size(); ++i) {
    expected += (i == 0                          ? "'"
                 : i + 1 == open->closers.size() ? " or '"
                                                 : ", '") +
                std::string(open->closers[i]) + "'";
  }
  Fail(line, "unexpected tag '" + tag + "' (expected " + expected + " for the '" +
                 std::string(open->tag) + "' on line " + std::to_string(open->line) + ")");
}

std::string Parser::TakeCloser() {
  Next();  // {%
  return Next().text;
}

Node Parser::ParseIf(int line) {
  IfNode node;
  ExprPtr condition = ParseExpression();
  ExpectBlockEnd();
  OpenBlock open{"if", line, {"elif", "else", "endif"}};
  while (true) {
    Body body = ParseBody(&open);
    node.branches.push_back(Branch{std::move(condition), std::move(body)});
    std::string tag = TakeCloser();
    if (tag == "elif") {
      condition = ParseExpression();
      ExpectBlockEnd();
      continue;
    }
    ExpectBlockEnd();
    if (tag == "else") {
      OpenBlock else_open{"if", line, {"endif"}};
      node.otherwise = ParseBody(&else_open);
      TakeCloser();
      ExpectBlockEnd();
    }
    return Node{line, std::move(node)};
  }
}

Node Parser::ParseFor(int line) {
  ForNode node;
  bool parenthesized = IsOp("(");
  if (parenthesized) Next();
  node.targets.push_back(ExpectName("a loop variable"));
  while (IsOp(",")) {
    Next();
    node.targets.push_back(ExpectName("a loop variable"));
  }
  if (parenthesized) ExpectOp(")");
  if (!IsName("in")) Unexpected("'in'");
  Next();
  node.iterable = ParseExpression(/*with_conditional=*/false);
  if (IsName("if")) {
    Next();
    node.filter = ParseExpression();
  }
  if (IsName("recursive")) Fail(Peek().line, "recursive loops are not supported");
  ExpectBlockEnd();
  OpenBlock open{"for", line, {"else", "endfor"}};
  node.body = ParseBody(&open);
  std::string tag = TakeCloser();
  ExpectBlockEnd();
  if (tag == "else") {
    OpenBlock else_open{"for", line, {"endfor"}};
    node.otherwise = ParseBody(&else_open);
    TakeCloser();
    ExpectBlockEnd();
  }
  return Node{line, std::move(node)};
}

Node Parser::ParseSet(int line) {
  SetNode node;
  node.name = ExpectName("a variable name");
  if (IsOp("=")) {
    Next();
    node.value = ParseExpression();
    ExpectBlockEnd();
    return Node{line, std::move(node)};
  }
  if (Peek().type != TokenType::kBlockEnd) Unexpected("'=' or '%}'");
  Next();
  OpenBlock open{"set", line, {"endset"}};
  node.body = ParseBody(&open);
  TakeCloser();
  ExpectBlockEnd();
  return Node{line, std::move(node)};
}

ExprPtr Parser::ParseExpression(bool with_conditional) {
  DepthGuard guard(*this);
  ExprPtr expr = ParseOr();
  while (with_conditional && IsName("if")) {
    int line = Next().line;
    ExprPtr condition = ParseOr();
    ExprPtr otherwise;
    if (IsName("else")) {
      Next();
      otherwise = ParseExpression();
    }
    expr = MakeExpr(line, Conditional{std::move(condition), std::move(expr), std::move(otherwise)});
  }
  return expr;
}

ExprPtr Parser::ParseOr() {
  ExprPtr left = ParseAnd();
  while (IsName("or")) {
    int line = Next().line;
    left = MakeExpr(line, Binary{"or", std::move(left), ParseAnd()});
  }
  return left;
}

ExprPtr Parser::ParseAnd() {
  ExprPtr left = ParseNot();
  while (IsName("and")) {
    int line = Next().line;
    left = MakeExpr(line, Binary{"and", std::move(left), ParseNot()});
  }
  return left;
}

ExprPtr Parser::ParseNot() {
  if (!IsName("not")) return ParseCompare();
  DepthGuard guard(*this);
  int line = Next().line;
  return MakeExpr(line, Unary{"not", ParseNot()});
}

ExprPtr Parser::ParseCompare() {
  int line = Peek().line;
  ExprPtr first = ParseAdditive();
  Comparison compare{std::move(first), {}};
  while (true) {
    std::string op;
    if (Peek().type == TokenType::kOperator &&
        Contains(std::initializer_list<std::string_view>{"==", "!=", "<", "<=", ">", ">="},
                 Peek().text)) {
      op = Next().text;
    } else if (IsName("in")) {
      op = Next().text;
    } else if (IsName("not") && IsName("in", 1)) {
      Next();
      Next();
      op = "not in";
    } else {
      break;
    }
    compare.rest.emplace_back(op, ParseAdditive());
  }
  if (compare.rest.empty()) return std::move(compare.first);
  return MakeExpr(line, std::move(compare));
}

ExprPtr Parser::ParseAdditive() {
  ExprPtr left = ParseConcat();
  while (IsOp("+") || IsOp("-")) {
    const Token& op = Next();
    left = MakeExpr(op.line, Binary{op.text, std::move(left), ParseConcat()});
  }
  return left;
}

ExprPtr Parser::ParseConcat() {
  ExprPtr left = ParseMultiplicative();
  while (IsOp("~")) {
    int line = Next().line;
    left = MakeExpr(line, Binary{"~", std::move(left), ParseMultiplicative()});
  }
  return left;
}

ExprPtr Parser::ParseMultiplicative() {
  ExprPtr left = ParsePower();
  while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
    const Token& op = Next();
    left = MakeExpr(op.line, Binary{op.text, std::move(left), ParsePower()});
  }
  return left;
}

ExprPtr Parser::ParsePower() {
  ExprPtr left = ParseUnary(true);
  while (IsOp("**")) {
    int line = Next().line;
    left = MakeExpr(line, Binary{"**", std::move(left), ParseUnary(true)});
  }
  return left;
}

// As in Jinja, `-x|abs` is `(-x)|abs` and `-2 ** 2` is `(-2) ** 2`.
ExprPtr Parser::ParseUnary(bool with_filters) {
  DepthGuard guard(*this);
  ExprPtr node;
  if (IsOp("-") || IsOp("+")) {
    const Token& op = Next();
    node = MakeExpr(op.line, Unary{op.text, ParseUnary(false)});
  } else {
    node = ParsePrimary();
  }
  node = ParsePostfix(std::move(node));
  return with_filters ? ParseFilters(std::move(node)) : std::move(node);
}

ExprPtr Parser::ParsePrimary() {
  const Token& token = Peek();
  int line = token.line;
  switch (token.type) {
    case TokenType::kName: {
      if (Contains(kKeywords, token.text)) Unexpected("an expression");
      std::string name = Next().text;
      if (name == "true" || name == "True") return MakeExpr(line, Literal{Value(true)});
      if (name == "false" || name == "False") return MakeExpr(line, Literal{Value(false)});
      if (name == "none" || name == "None") return MakeExpr(line, Literal{Value::None()});
      return MakeExpr(line, Name{name});
    }
    case TokenType::kString: {
      std::string text;
      while (Peek().type == TokenType::kString) text += Next().text;  // 'a' 'b' is 'ab'
      return MakeExpr(line, Literal{Value(std::move(text))});
    }
    case TokenType::kInteger: {
      errno = 0;
      long long value = std::strtoll(token.text.c_str(), nullptr, 10);
      if (errno == ERANGE) Fail(line, "integer literal " + token.text + " is too large");
      Next();
      return MakeExpr(line, Literal{Value(static_cast<int64_t>(value))});
    }
    case TokenType::kFloat:
      Next();
      return MakeExpr(line, Literal{Value(std::strtod(token.text.c_str(), nullptr))});
    case TokenType::kOperator:
      if (token.text == "(" || token.text == "[") {
        Next();
        return ParseSequence(token.text == "(" ? ")" : "]", line);
      }
      if (token.text == "{") {
        Next();
        return ParseDict(line);
      }
      break;
    default:
      break;
  }
  Unexpected("an expression");
}

// After "(" or "[": a list, a tuple (read as a list) or a parenthesized expression.
ExprPtr Parser::ParseSequence(std::string_view close, int line) {
  ListExpr list;
  bool tuple = close == "]";
  while (!IsOp(close)) {
    list.items.push_back(ParseExpression());
    if (!IsOp(",")) break;
    Next();
    tuple = true;
  }
  ExpectOp(close);
  if (!tuple && list.items.size() == 1) return std::move(list.items[0]);
  return MakeExpr(line, std::move(list));
}

ExprPtr Parser::ParseDict(int line) {
  DictExpr dict;
  while (!IsOp("}")) {
    ExprPtr key = ParseExpression();
    ExpectOp(":");
    dict.items.emplace_back(std::move(key), ParseExpression());
    if (!IsOp(",")) break;
    Next();
  }
  ExpectOp("}");
  return MakeExpr(line, std::move(dict));
}

ExprPtr Parser::ParsePostfix(ExprPtr node) {
  while (true) {
    int line = Peek().line;
    if (IsOp(".")) {
      Next();
      if (Peek().type == TokenType::kInteger) {  // row.0 is row[0]
        ExprPtr index = ParsePrimary();
        node = MakeExpr(line, Item{std::move(node), std::move(index)});
      } else {
        if (Peek().type != TokenType::kName) Unexpected("an attribute name");
        node = MakeExpr(line, Attribute{std::move(node), Next().text});
      }
    } else if (IsOp("[")) {
      Next();
      node = ParseSubscript(std::move(node));
    } else if (IsOp("(")) {
      Next();
      node = MakeExpr(line, Call{std::move(node), ParseArgs()});
    } else {
      return node;
    }
  }
}

// After "[": `[key]` or a slice `[start:stop:step]` with any part omitted.
ExprPtr Parser::ParseSubscript(ExprPtr object) {
  int line = Peek().line;
  ExprPtr start;
  if (!IsOp(":")) start = ParseExpression();
  if (!IsOp(":")) {
    ExpectOp("]");
    return MakeExpr(line, Item{std::move(object), std::move(start)});
  }
  Next();
  Slice slice{std::move(object), std::move(start), nullptr, nullptr};
  if (!IsOp(":") && !IsOp("]")) slice.stop = ParseExpression();
  if (IsOp(":")) {
    Next();
    if (!IsOp("]")) slice.step = ParseExpression();
  }
  ExpectOp("]");
  return MakeExpr(line, std::move(slice));
}

ExprPtr Parser::ParseFilters(ExprPtr node) {
  while (true) {
    int line = Peek().line;
    if (IsOp("|")) {
      Next();
      if (Peek().type != TokenType::kName) Unexpected("a filter name");
      std::string name = Next().text;
      if (!IsFilter(name)) Fail(line, "unknown filter '" + name + "'");
      ArgExprs args;
      if (IsOp("(")) {
        Next();
        args = ParseArgs();
      }
      node = MakeExpr(line, Filter{std::move(node), name, std::move(args)});
    } else if (IsName("is")) {
      node = ParseTest(std::move(node));
    } else if (IsOp("(")) {
      Next();
      node = MakeExpr(line, Call{std::move(node), ParseArgs()});
    } else {
      return node;
    }
  }
}

// After the operand: `is [not] name`, `is name(args)` or `is name <one argument>`.
ExprPtr Parser::ParseTest(ExprPtr operand) {
  int line = Next().line;  // is
  bool negated = IsName("not");
  if (negated) Next();
  if (Peek().type != TokenType::kName) Unexpected("a test name");
  std::string name = Next().text;
  if (!IsTest(name)) Fail(line, "unknown test '" + name + "'");
  ArgExprs args;
  const Token& next = Peek();
  bool starts_primary = next.type == TokenType::kName || next.type == TokenType::kString ||
                        next.type == TokenType::kInteger || next.type == TokenType::kFloat ||
                        IsOp("[") || IsOp("{");
  if (IsOp("(")) {
    Next();
    args = ParseArgs();
  } else if (starts_primary && !IsName("else") && !IsName("or") && !IsName("and") &&
             !IsName("if")) {
    if (IsName("is")) Fail(next.line, "tests cannot be chained with 'is'");
    args.positional.push_back(ParsePostfix(ParsePrimary()));  // `x is divisibleby 3`
  }
  return MakeExpr(line, Test{std::move(operand), name, std::move(args), negated});
}

// After "(": positional then keyword arguments, up to and including ")".
ArgExprs Parser::ParseArgs() {
  ArgExprs args;
  while (!IsOp(")")) {
    if (Peek().type == TokenType::kName && IsOp("=", 1)) {
      std::string name = Next().text;
      Next();
      args.keyword.emplace_back(name, ParseExpression());
    } else {
      if (!args.keyword.empty()) Fail(Peek().line, "positional argument follows keyword argument");
      args.positional.push_back(ParseExpression());
    }
    if (!IsOp(",")) break;
    Next();
  }
  ExpectOp(")");
  return args;
}

}  // namespace

Body Parse(const std::vector<Token>& tokens, std::string_view origin) {
  return Parser(tokens, origin).ParseTemplate();
}

}  // namespace kiln::templating::internal
