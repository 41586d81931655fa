#include "kiln/common/environment.h"

#include <unistd.h>

extern char** environ;

namespace kiln {

Environment Environment::FromProcess() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.vars_.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

Environment Environment::FromMap(std::map<std::string, std::string> vars) {
  Environment env;
  for (auto& [k, v] : vars) env.vars_.emplace(k, std::move(v));
  return env;
}

std::optional<std::string> Environment::Get(std::string_view name) const {
  auto it = vars_.find(name);
  if (it == vars_.end()) return std::nullopt;
  return it->second;
}

bool Environment::SetDefault(const std::string& name, std::string value) {
  return vars_.emplace(name, std::move(value)).second;
}

}  // namespace kiln
