// config/io_config.h: connection profiles from a project's io_config.yaml (§9.1).
// The whole file is rendered with the Jinja subset first ({{ env_var('X') }}, ...), then parsed;
// a profile is a top-level mapping (`default`, `dev`, ...). Both Mage formats are read: the flat
// one (POSTGRES_HOST: ...) and the legacy verbose one (PostgreSQL: {host: ...}).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/common/environment.h"
#include "kiln/common/error.h"

namespace kiln::config {

//! io_config.yaml is invalid, or a profile or key a block needs is missing. what() names the
//! file, the profile and the key.
class ConfigError : public Error {
 public:
  using Error::Error;
};

//! One profile of io_config.yaml.
class IoProfile {
 public:
  IoProfile(std::string file, std::string name, nlohmann::json values);

  const std::string& name() const { return name_; }
  //! The io_config.yaml the profile comes from (for messages).
  const std::string& file() const { return file_; }
  //! The value of `key` (e.g. "POSTGRES_HOST") as text (numbers and booleans as YAML wrote
  //! them), or nullopt when the key is absent or null. Throws ConfigError when the value uses
  //! an environment variable that is not set, naming the variable, the key and the profile.
  std::optional<std::string> Get(std::string_view key) const;
  //! As Get(), but a missing key throws ConfigError naming it.
  std::string Require(std::string_view key) const;
  //! True when the key is present (even if null), as Mage's `KEY in config`.
  bool Has(std::string_view key) const;
  //! The profile's values after the verbose format is mapped to flat keys.
  const nlohmann::json& values() const { return values_; }

 private:
  std::string file_, name_;
  nlohmann::json values_;
};

class IoConfig {
 public:
  //! Reads `<project_root>/io_config.yaml` (or io_config.yml). A missing file gives a config
  //! with no profiles. Throws ConfigError on a template or YAML error (with file and line).
  static IoConfig Load(const std::filesystem::path& project_root, const Environment& env);
  //! Parses `text` as the content of `file` (for tests and the API).
  static IoConfig Parse(std::string_view text, const std::string& file, const Environment& env);

  bool exists() const { return exists_; }
  std::vector<std::string> ProfileNames() const;
  bool HasProfile(std::string_view name) const;
  //! The profile `name`; throws ConfigError "<file>: no profile 'x' (profiles: default, dev)".
  IoProfile Profile(std::string_view name) const;
  //! The profile `name` when present, else an empty profile of that name (for settings that
  //! all have defaults, such as DuckDB's).
  IoProfile ProfileOrEmpty(std::string_view name) const;

 private:
  std::string file_;
  bool exists_ = false;
  nlohmann::json profiles_ = nlohmann::json::object();
};

}  // namespace kiln::config
