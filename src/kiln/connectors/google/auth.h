// connectors/google/auth.h: where a Google client's credentials come from, resolved the way
// Mage's GoogleCloudStorage/BigQuery.with_config resolve io_config.yaml (spec §9.2).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "kiln/config/io_config.h"

namespace kiln::connectors {

//! A key's JSON (GOOGLE_SERVICE_ACC_KEY), a key file (GOOGLE_SERVICE_ACC_KEY_FILEPATH), or
//! nothing: Application Default Credentials, i.e. the file named by `adc_path` (the block's
//! GOOGLE_APPLICATION_CREDENTIALS), else ~/.config/gcloud/application_default_credentials.json.
struct GoogleAuth {
  std::variant<std::monostate, nlohmann::json, std::filesystem::path> source;
  std::optional<std::string> adc_path;
  std::string origin;  //!< for messages: "io_config.yaml profile 'default' GOOGLE_SERVICE_ACC_KEY"
  std::string location;  //!< GOOGLE_LOCATION ("" = the service's default)
};

//! Mage's precedence: GOOGLE_SERVICE_ACC_KEY present (null: ADC), else
//! GOOGLE_SERVICE_ACC_KEY_FILEPATH, else ConfigError "<file> profile '<p>' has neither
//! GOOGLE_SERVICE_ACC_KEY nor GOOGLE_SERVICE_ACC_KEY_FILEPATH (or run with --local-cloud DIR /
//! KILN_LOCAL_CLOUD=DIR)". A key given as a JSON string is parsed (ConfigError when it is not
//! JSON). GOOGLE_LOCATION becomes `location`.
GoogleAuth GoogleAuthFromProfile(const config::IoProfile& profile);

}  // namespace kiln::connectors
