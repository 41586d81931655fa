#include "kiln/connectors/google/credentials.h"

#include "kiln/connectors/crypto/digest.h"

namespace kiln::connectors {
namespace {

std::string Field(const nlohmann::json& key, const char* name, const std::string& origin,
                  bool required) {
  auto it = key.find(name);
  if (it == key.end() || it->is_null()) {
    if (!required) return "";
    throw CredentialsError(origin + ": the service-account key has no '" + name + "'");
  }
  if (!it->is_string()) {
    throw CredentialsError(origin + ": the service-account key's '" + name + "' must be a string");
  }
  return it->get<std::string>();
}

}  // namespace

GoogleCredentials ParseServiceAccountKey(const nlohmann::json& key, const std::string& origin) {
  if (!key.is_object()) {
    throw CredentialsError(origin + ": a service-account key is a JSON object");
  }
  const std::string type = Field(key, "type", origin, true);
  if (type != "service_account") {
    throw CredentialsError(origin + ": the key's type is '" + type + "', not 'service_account'");
  }
  GoogleCredentials c;
  c.origin = origin;
  c.client_email = Field(key, "client_email", origin, true);
  c.private_key_pem = Field(key, "private_key", origin, true);
  c.private_key_id = Field(key, "private_key_id", origin, false);
  c.project_id = Field(key, "project_id", origin, false);
  if (std::string uri = Field(key, "token_uri", origin, false); !uri.empty()) c.token_uri = uri;
  try {
    RsaSha256Sign(c.private_key_pem, "kiln");  // a key that cannot sign fails here, not later
  } catch (const CryptoError& e) {
    throw CredentialsError(origin + ": the key's 'private_key' cannot be used: " + e.what());
  }
  return c;
}

std::string JwtAssertion(const GoogleCredentials& c, const std::string& scope,
                         std::chrono::system_clock::time_point now) {
  nlohmann::ordered_json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  if (!c.private_key_id.empty()) header["kid"] = c.private_key_id;
  const int64_t iat =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  nlohmann::ordered_json claims = {{"iss", c.client_email},
                                   {"scope", scope},
                                   {"aud", c.token_uri},
                                   {"iat", iat},
                                   {"exp", iat + 3600}};
  const std::string signing_input = Base64Url(header.dump()) + "." + Base64Url(claims.dump());
  return signing_input + "." + Base64Url(RsaSha256Sign(c.private_key_pem, signing_input));
}

}  // namespace kiln::connectors
