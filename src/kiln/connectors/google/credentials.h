// connectors/google/credentials.h: Google credentials: service-account keys and the OAuth2 JWT
// bearer assertion a key signs to get an access token (RFC 7523; Google's "Using OAuth 2.0 for
// Server to Server Applications"), and gcloud's `authorized_user` refresh tokens. Read from
// io_config.yaml's GOOGLE_SERVICE_ACC_KEY (the key's JSON) or GOOGLE_SERVICE_ACC_KEY_FILEPATH, as
// Mage reads them, or found as Application Default Credentials.
#pragma once

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "kiln/connectors/error.h"
#include "kiln/connectors/google/auth.h"

namespace kiln::connectors {

//! A key could not be used. what() names where it came from and the field; never the key.
class CredentialsError : public ConnectorError {
 public:
  using ConnectorError::ConnectorError;
};

//! A service account's signing identity, or a user's refresh token.
struct GoogleCredentials {
  enum class Type { kServiceAccount, kAuthorizedUser };
  Type type = Type::kServiceAccount;
  std::string client_email;
  std::string private_key_pem;  //!< PEM, "-----BEGIN PRIVATE KEY-----..."
  std::string private_key_id;   //!< "" when the key does not say
  std::string token_uri = "https://oauth2.googleapis.com/token";
  std::string project_id;  //!< "" when the key does not say
  std::string origin;      //!< where it came from, for messages
  // authorized_user (gcloud auth application-default login):
  std::string client_id;
  std::string client_secret;
  std::string refresh_token;

  //! Who the token is for, in messages: the client_email, or "user credentials (client <id>)".
  std::string Identity() const;
  //! What tokens are cached under: one key per service account / refresh token (a digest, so no
  //! secret is kept in the key).
  std::string CacheKey() const;
};

//! Reads a service-account key (`"type": "service_account"`, `client_email`, `private_key`;
//! `private_key_id`, `token_uri`, `project_id` optional). `origin` names the source in errors
//! ("io_config.yaml profile 'default' GOOGLE_SERVICE_ACC_KEY_FILEPATH /keys/k.json"). Throws
//! CredentialsError naming the missing or mistyped field, another key type, or a private key
//! OpenSSL cannot read (checked by signing once).
GoogleCredentials ParseServiceAccountKey(const nlohmann::json& key, const std::string& origin);

//! Reads a key of type "service_account" (as ParseServiceAccountKey) or "authorized_user"
//! (client_id, client_secret, refresh_token required; token_uri optional). Throws
//! CredentialsError naming `origin` and the field; "external_account" (workload identity
//! federation) and other types are refused by name.
GoogleCredentials ParseGoogleCredentials(const nlohmann::json& key, const std::string& origin);

//! Reads the key file `path`. Throws CredentialsError "<origin>: cannot read <path>: <why>",
//! "<origin>: not JSON at line L, column C (<parser's message>)", or ParseGoogleCredentials's.
GoogleCredentials ReadGoogleCredentialsFile(const std::filesystem::path& path,
                                            const std::string& origin);

//! The credentials `auth` names: its key JSON, its key file, or Application Default
//! Credentials: `auth.adc_path`, else `env_adc` (the process's GOOGLE_APPLICATION_CREDENTIALS),
//! else `<home>/.config/gcloud/application_default_credentials.json`. Throws CredentialsError
//! when none exists ("no Google credentials: ... set GOOGLE_SERVICE_ACC_KEY_FILEPATH or
//! GOOGLE_APPLICATION_CREDENTIALS; the GCE metadata server is not supported") or a file is bad.
GoogleCredentials LoadGoogleCredentials(const GoogleAuth& auth,
                                        const std::optional<std::string>& env_adc,
                                        const std::filesystem::path& home);

//! The signed JWT to exchange at token_uri for an access token:
//! base64url(header) "." base64url(claims) "." base64url(RS256 signature), with header
//! {"alg":"RS256","typ":"JWT"[,"kid":private_key_id]} and claims {"iss": client_email,
//! "scope": `scope`, "aud": token_uri, "iat": now, "exp": now + 3600} (seconds since the epoch).
std::string JwtAssertion(const GoogleCredentials& credentials, const std::string& scope,
                         std::chrono::system_clock::time_point now);

//! The scope Kiln asks for: full access to the project's cloud resources, as Mage's clients.
inline constexpr const char* kCloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform";

}  // namespace kiln::connectors
