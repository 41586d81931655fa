// connectors/s3/settings.h: how an S3-compatible store is reached, from io_config.yaml the way
// Mage's S3.with_config maps it onto boto3 (spec §9.2).
#pragma once

#include <string>

#include "kiln/config/io_config.h"

namespace kiln::connectors {

//! Keys, region and endpoint. An empty key id means "not given" (see S3SettingsFromProfile).
struct S3Settings {
  std::string access_key_id;      //!< AWS_ACCESS_KEY_ID
  std::string secret_access_key;  //!< AWS_SECRET_ACCESS_KEY
  std::string session_token;      //!< AWS_SESSION_TOKEN ("" = none)
  std::string region;             //!< AWS_REGION ("" = the environment's, else us-east-1)
  std::string endpoint;           //!< AWS_ENDPOINT ("" = AWS); no scheme means https://
  std::string origin;             //!< for messages: "io_config.yaml profile 'default'"
};

//! AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION and AWS_ENDPOINT of
//! `profile`; absent keys stay empty (the store falls back as boto3 does). Never throws for a
//! missing key.
S3Settings S3SettingsFromProfile(const config::IoProfile& profile);

}  // namespace kiln::connectors
