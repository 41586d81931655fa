#include "kiln/template/env_functions.h"

#include <nlohmann/json.hpp>

namespace kiln::templating {
namespace {

constexpr std::string_view kMarkerStart = "\x1ekiln-unset-env:";
constexpr char kMarkerEnd = '\x1e';

std::string NameArg(const CallArgs& args, const char* function) {
  if (args.positional.empty() || !args.positional[0].IsString())
    throw TemplateError(std::string(function) + "() needs a name as its first argument");
  return args.positional[0].AsString();
}

// Mage's get_json_value: a dotted path into a JSON document given as text.
Value JsonValue(const CallArgs& args) {
  if (args.positional.size() < 2 || !args.positional[0].IsString() ||
      !args.positional[1].IsString()) {
    throw TemplateError("json_value() needs a JSON string and a key or dotted path");
  }
  nlohmann::ordered_json doc =
      nlohmann::ordered_json::parse(args.positional[0].AsString(), nullptr, false);
  if (doc.is_discarded()) throw TemplateError("json_value(): the first argument is not JSON");
  const std::string& path = args.positional[1].AsString();
  const nlohmann::ordered_json* node = &doc;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (node->is_object() && node->contains(part)) {
      node = &(*node)[part];
    } else if (node->is_array() && !part.empty() &&
               part.find_first_not_of("0123456789") == std::string::npos &&
               std::stoul(part) < node->size()) {
      node = &(*node)[std::stoul(part)];
    } else {
      return Value::None();
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return Value::FromJson(*node);
}

// env_var(name[, default]) and mage_secret_var(name): both read `env`; they differ only in
// how a miss is worded.
Function EnvLookup(const Environment& env, UnsetEnvPolicy policy, const char* function,
                   const char* what) {
  return [&env, policy, function, what](const CallArgs& args) -> Value {
    std::string name = NameArg(args, function);
    if (auto value = env.Get(name)) return Value(*value);
    if (args.positional.size() > 1) return args.positional[1];
    if (policy == UnsetEnvPolicy::kMarker)
      return Value(std::string(kMarkerStart) + name + kMarkerEnd);
    return Value::Undefined(std::string(what) + " '" + name + "' is not set");
  };
}

}  // namespace

void AddEnvironmentFunctions(Context& context, const Environment& env, UnsetEnvPolicy policy) {
  context.Set("env_var", Value(EnvLookup(env, policy, "env_var", "environment variable")));
  // Kiln has no secret store yet: a secret is read from the environment (or a .env file).
  context.Set("mage_secret_var",
              Value(EnvLookup(env, policy, "mage_secret_var", "secret (environment variable)")));
  context.Set("json_value", Value(Function(JsonValue)));
}

std::optional<std::string> FindUnsetEnvMarker(std::string_view text) {
  size_t start = text.find(kMarkerStart);
  if (start == std::string_view::npos) return std::nullopt;
  start += kMarkerStart.size();
  size_t end = text.find(kMarkerEnd, start);
  return std::string(text.substr(start, end == std::string_view::npos ? end : end - start));
}

}  // namespace kiln::templating
