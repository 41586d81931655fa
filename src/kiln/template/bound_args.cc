#include <string>

#include "kiln/template/builtins.h"
#include "kiln/template/error.h"
#include "kiln/template/operators.h"

namespace kiln::templating::internal {

BoundArgs::BoundArgs(std::string_view callee, const CallArgs& args,
                     std::vector<std::string_view> params, size_t required)
    : values_(params.size(), nullptr) {
  std::string name(callee);
  if (args.positional.size() > params.size()) {
    throw TemplateError(name + " takes " +
                        (params.empty() ? "no arguments"
                                        : "at most " + std::to_string(params.size()) +
                                              (params.size() == 1 ? " argument" : " arguments")) +
                        " (" + std::to_string(args.positional.size()) + " given)");
  }
  for (size_t i = 0; i < args.positional.size(); ++i) values_[i] = &args.positional[i];
  for (const auto& [keyword, value] : args.keyword) {
    size_t i = 0;
    while (i < params.size() && params[i] != keyword) ++i;
    if (i == params.size()) {
      throw TemplateError(name + " got an unexpected keyword argument '" + keyword + "'");
    }
    if (values_[i] != nullptr) {
      throw TemplateError(name + " got multiple values for argument '" + keyword + "'");
    }
    values_[i] = &value;
  }
  for (size_t i = 0; i < required; ++i) {
    if (values_[i] == nullptr) {
      throw TemplateError(name + " missing required argument '" + std::string(params[i]) + "'");
    }
  }
}

const std::string& ExpectString(const Value& value, std::string_view what) {
  RequireDefined(value);
  if (!value.IsString()) {
    throw TemplateError(std::string(what) + " must be a string, not '" + value.TypeName() + "'");
  }
  return value.AsString();
}

int64_t ExpectInt(const Value& value, std::string_view what) {
  RequireDefined(value);
  if (value.IsBool()) return value.AsBool();
  if (!value.IsInt()) {
    throw TemplateError(std::string(what) + " must be an integer, not '" + value.TypeName() + "'");
  }
  return value.AsInt();
}

}  // namespace kiln::templating::internal
