#include "kiln/connectors/google/auth.h"

namespace kiln::connectors {

GoogleAuth GoogleAuthFromProfile(const config::IoProfile& profile) {
  GoogleAuth auth;
  const std::string where = profile.file() + " profile '" + profile.name() + "'";
  auth.location = profile.Get("GOOGLE_LOCATION").value_or("");
  if (profile.Has("GOOGLE_SERVICE_ACC_KEY")) {
    auth.origin = where + " GOOGLE_SERVICE_ACC_KEY";
    const nlohmann::json& key = profile.values()["GOOGLE_SERVICE_ACC_KEY"];
    if (key.is_null()) {
      auth.origin = where + " (GOOGLE_SERVICE_ACC_KEY is empty: Application Default Credentials)";
    } else if (key.is_object()) {
      auth.source = key;
    } else {
      nlohmann::json parsed =
          nlohmann::json::parse(profile.Get("GOOGLE_SERVICE_ACC_KEY").value_or(""), nullptr, false);
      if (parsed.is_discarded() || !parsed.is_object()) {
        throw config::ConfigError(
            auth.origin + " is neither a mapping nor a JSON object of a service account key");
      }
      auth.source = std::move(parsed);
    }
    return auth;
  }
  if (std::optional<std::string> file = profile.Get("GOOGLE_SERVICE_ACC_KEY_FILEPATH");
      file && !file->empty()) {
    auth.origin = where + " GOOGLE_SERVICE_ACC_KEY_FILEPATH " + *file;
    auth.source = std::filesystem::path(*file);
    return auth;
  }
  throw config::ConfigError(where +
                            " has neither GOOGLE_SERVICE_ACC_KEY nor "
                            "GOOGLE_SERVICE_ACC_KEY_FILEPATH (or run with --local-cloud DIR / "
                            "KILN_LOCAL_CLOUD=DIR)");
}

}  // namespace kiln::connectors
