#include "kiln/connectors/postgres/profile.h"

#include <charconv>

namespace kiln::connectors::postgres {
namespace {

int NumberKey(const config::IoProfile& profile, const char* key, int fallback) {
  auto text = profile.Get(key);
  if (!text || text->empty()) return fallback;
  int value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < 0) {
    throw config::ConfigError(profile.file() + ": " + std::string(key) + " in profile '" +
                              profile.name() + "' is '" + *text + "', not a number");
  }
  return value;
}

}  // namespace

ConnectionSettings SettingsFromProfile(const config::IoProfile& profile,
                                       const std::function<void(const std::string&)>& warn) {
  ConnectionSettings s;
  if (auto method = profile.Get("POSTGRES_CONNECTION_METHOD"); method && *method != "direct") {
    throw config::ConfigError(profile.file() + ": POSTGRES_CONNECTION_METHOD '" + *method +
                              "' in profile '" + profile.name() +
                              "' is not supported yet; Kiln connects directly");
  }
  s.host = profile.Require("POSTGRES_HOST");
  s.dbname = profile.Require("POSTGRES_DBNAME");
  s.user = profile.Require("POSTGRES_USER");
  s.password = profile.Get("POSTGRES_PASSWORD").value_or("");
  try {
    s.schema = profile.Get("POSTGRES_SCHEMA").value_or("");
  } catch (const config::ConfigError& e) {
    if (warn) warn(std::string(e.what()) + "; using schema public");
  }
  s.port = NumberKey(profile, "POSTGRES_PORT", 5432);
  s.connect_timeout_seconds = NumberKey(profile, "POSTGRES_CONNECT_TIMEOUT", 10);
  return s;
}

}  // namespace kiln::connectors::postgres
