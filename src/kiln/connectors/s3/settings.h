// connectors/s3/settings.h: how an S3-compatible store is reached, from io_config.yaml the way
// Mage's S3.with_config maps it onto boto3 (spec §9.2), completed as boto3 would from the
// environment and ~/.aws/credentials (docs/design/cloud.md §5 "S3").
#pragma once

#include <filesystem>
#include <string>

#include "kiln/common/environment.h"
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
  //! For messages: where the secret came from, i.e. what to check when AWS rejects a signature,
  //! e.g. "AWS_SECRET_ACCESS_KEY of io_config.yaml profile 'default'". Set by ResolveS3Settings.
  std::string secret_source;
};

//! AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION and AWS_ENDPOINT of
//! `profile`; absent keys stay empty (the store falls back as boto3 does). Never throws for a
//! missing key.
S3Settings S3SettingsFromProfile(const config::IoProfile& profile);

//! Fills what `settings` lacks as boto3 does, without instance metadata: the keys from the
//! profile when it has AWS_ACCESS_KEY_ID, else `env`'s AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
//! AWS_SESSION_TOKEN, else section [${AWS_PROFILE:-default}] of $AWS_SHARED_CREDENTIALS_FILE or
//! `home`/.aws/credentials (aws_access_key_id, aws_secret_access_key, aws_session_token); the
//! region from the profile, else AWS_REGION, else AWS_DEFAULT_REGION, else "us-east-1". Sets
//! secret_source. Throws config::ConfigError naming where it looked (and the --local-cloud
//! switch) when no key id is found, or naming the source whose secret is missing.
S3Settings ResolveS3Settings(S3Settings settings, const Environment& env,
                             const std::filesystem::path& home);

}  // namespace kiln::connectors
