// connectors/google/credentials.h: Google service-account keys and the OAuth2 JWT bearer
// assertion a key signs to get an access token (RFC 7523; Google's "Using OAuth 2.0 for
// Server to Server Applications"). Read from io_config.yaml's GOOGLE_SERVICE_ACC_KEY (the key's
// JSON) or GOOGLE_SERVICE_ACC_KEY_FILEPATH, as Mage reads them.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "kiln/connectors/error.h"

namespace kiln::connectors {

//! A key could not be used. what() names where it came from and the field; never the key.
class CredentialsError : public ConnectorError {
 public:
  using ConnectorError::ConnectorError;
};

//! A service account's signing identity.
struct GoogleCredentials {
  std::string client_email;
  std::string private_key_pem;  //!< PEM, "-----BEGIN PRIVATE KEY-----..."
  std::string private_key_id;   //!< "" when the key does not say
  std::string token_uri = "https://oauth2.googleapis.com/token";
  std::string project_id;  //!< "" when the key does not say
  std::string origin;      //!< where it came from, for messages
};

//! Reads a service-account key (`"type": "service_account"`, `client_email`, `private_key`;
//! `private_key_id`, `token_uri`, `project_id` optional). `origin` names the source in errors
//! ("io_config.yaml profile 'default' GOOGLE_SERVICE_ACC_KEY_FILEPATH /keys/k.json"). Throws
//! CredentialsError naming the missing or mistyped field, another key type, or a private key
//! OpenSSL cannot read (checked by signing once).
GoogleCredentials ParseServiceAccountKey(const nlohmann::json& key, const std::string& origin);

//! The signed JWT to exchange at token_uri for an access token:
//! base64url(header) "." base64url(claims) "." base64url(RS256 signature), with header
//! {"alg":"RS256","typ":"JWT"[,"kid":private_key_id]} and claims {"iss": client_email,
//! "scope": `scope`, "aud": token_uri, "iat": now, "exp": now + 3600} (seconds since the epoch).
std::string JwtAssertion(const GoogleCredentials& credentials, const std::string& scope,
                         std::chrono::system_clock::time_point now);

//! The scope Kiln asks for: full access to the project's cloud resources, as Mage's clients.
inline constexpr const char* kCloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform";

}  // namespace kiln::connectors
