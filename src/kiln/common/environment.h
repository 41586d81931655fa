// common/environment.h: the environment variables a run sees, as an immutable-by-default value.
// Built from the process environment; `.env` files add defaults that the process environment
// overrides (docker-compose semantics). Passed explicitly instead of calling setenv().
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace kiln {

class Environment {
 public:
  //! A snapshot of the process environment (environ) at the time of the call.
  static Environment FromProcess();
  //! An environment holding exactly `vars` (for tests).
  static Environment FromMap(std::map<std::string, std::string> vars);

  //! The value of `name`, or nullopt when unset.
  std::optional<std::string> Get(std::string_view name) const;
  //! Sets `name` only when it is not set yet (how .env files fill in). Returns true if set.
  bool SetDefault(const std::string& name, std::string value);
  //! Sets `name`, replacing any value.
  void Set(const std::string& name, std::string value) { vars_[name] = std::move(value); }
  const std::map<std::string, std::string, std::less<>>& vars() const { return vars_; }

 private:
  std::map<std::string, std::string, std::less<>> vars_;
};

}  // namespace kiln
