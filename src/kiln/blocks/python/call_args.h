// blocks/python/call_args.h: reading the arguments of a call from a Python block (the JSON
// "args" object of runner_calls.h), the same way for every family of calls.
#pragma once

#include <charconv>
#include <nlohmann/json.hpp>
#include <string>

namespace kiln::blocks {

//! args[key] as text: a string as is, another value as its JSON; `fallback` when absent or null.
inline std::string ArgText(const nlohmann::json& args, const char* key,
                           const std::string& fallback = "") {
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return fallback;
  return it->is_string() ? it->get<std::string>() : it->dump();
}

//! args[key] as a number (given as a JSON number or as digits); `fallback` when absent, null or
//! not a number.
template <typename T>
T ArgNumber(const nlohmann::json& args, const char* key, T fallback) {
  const std::string text = ArgText(args, key);
  T value = fallback;
  if (!text.empty()) std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

}  // namespace kiln::blocks
