#include "kiln/connectors/google/credentials.h"

#include <fstream>
#include <sstream>

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

//! 1-based line and column of byte `offset` of `text`.
std::pair<size_t, size_t> LineAndColumn(const std::string& text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

GoogleCredentials ParseAuthorizedUser(const nlohmann::json& key, const std::string& origin) {
  auto field = [&](const char* name, bool required) {
    auto it = key.find(name);
    if (it == key.end() || it->is_null() || (it->is_string() && it->get<std::string>().empty())) {
      if (!required) return std::string();
      throw CredentialsError(origin + ": the authorized_user credentials have no '" + name +
                             "' (run `gcloud auth application-default login` again)");
    }
    if (!it->is_string()) {
      throw CredentialsError(origin + ": the authorized_user credentials' '" + name +
                             "' must be a string");
    }
    return it->get<std::string>();
  };
  GoogleCredentials c;
  c.type = GoogleCredentials::Type::kAuthorizedUser;
  c.origin = origin;
  c.client_id = field("client_id", true);
  c.client_secret = field("client_secret", true);
  c.refresh_token = field("refresh_token", true);
  c.project_id = field("quota_project_id", false);
  if (std::string uri = field("token_uri", false); !uri.empty()) c.token_uri = uri;
  return c;
}

}  // namespace

std::string GoogleCredentials::Identity() const {
  if (type == Type::kServiceAccount) return client_email;
  return "user credentials (client " + client_id + ")";
}

std::string GoogleCredentials::CacheKey() const {
  if (type == Type::kServiceAccount) return "sa:" + client_email + "|" + token_uri;
  return "user:" + Hex(Sha256(client_id + "|" + refresh_token)) + "|" + token_uri;
}

GoogleCredentials ParseGoogleCredentials(const nlohmann::json& key, const std::string& origin) {
  if (!key.is_object()) {
    throw CredentialsError(origin + ": Google credentials are a JSON object");
  }
  const std::string type = Field(key, "type", origin, true);
  if (type == "service_account") return ParseServiceAccountKey(key, origin);
  if (type == "authorized_user") return ParseAuthorizedUser(key, origin);
  if (type == "external_account") {
    throw CredentialsError(origin +
                           ": type 'external_account' (workload identity federation) is not "
                           "supported; use a service-account key or gcloud user credentials");
  }
  throw CredentialsError(origin + ": type '" + type +
                         "' is not supported (expected 'service_account' or 'authorized_user')");
}

GoogleCredentials ReadGoogleCredentialsFile(const std::filesystem::path& path,
                                            const std::string& origin) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    const bool exists = std::filesystem::exists(path, ec);
    throw CredentialsError(origin + ": cannot read " + path.string() + ": " +
                           (exists ? "permission denied" : "no such file"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  const std::string content = text.str();
  nlohmann::json key;
  try {
    key = nlohmann::json::parse(content);
  } catch (const nlohmann::json::parse_error& e) {
    auto [line, column] = LineAndColumn(content, e.byte > 0 ? e.byte - 1 : 0);
    // The parser's reason only: its "last read: '...'" may quote the private key.
    std::string what = e.what();
    if (size_t colon = what.find("error: "); colon != std::string::npos) {
      what = what.substr(colon + 7);
    }
    if (size_t quoted = what.find("; last read"); quoted != std::string::npos) what.resize(quoted);
    if (size_t quoted = what.find("last read:"); quoted != std::string::npos) what.resize(quoted);
    throw CredentialsError(origin + ": " + path.string() + " is not JSON at line " +
                           std::to_string(line) + ", column " + std::to_string(column) + " (" +
                           what + ")");
  }
  return ParseGoogleCredentials(key, origin);
}

GoogleCredentials LoadGoogleCredentials(const GoogleAuth& auth,
                                        const std::optional<std::string>& env_adc,
                                        const std::filesystem::path& home) {
  if (const auto* key = std::get_if<nlohmann::json>(&auth.source)) {
    return ParseGoogleCredentials(*key, auth.origin);
  }
  if (const auto* file = std::get_if<std::filesystem::path>(&auth.source)) {
    return ReadGoogleCredentialsFile(*file, auth.origin);
  }
  const std::string where = auth.origin.empty() ? "Application Default Credentials" : auth.origin;
  if (auth.adc_path && !auth.adc_path->empty()) {
    return ReadGoogleCredentialsFile(*auth.adc_path,
                                     "GOOGLE_APPLICATION_CREDENTIALS " + *auth.adc_path);
  }
  if (env_adc && !env_adc->empty()) {
    return ReadGoogleCredentialsFile(*env_adc, "GOOGLE_APPLICATION_CREDENTIALS " + *env_adc);
  }
  const std::filesystem::path gcloud =
      home / ".config" / "gcloud" / "application_default_credentials.json";
  std::error_code ec;
  if (!home.empty() && std::filesystem::exists(gcloud, ec)) {
    return ReadGoogleCredentialsFile(gcloud, "gcloud credentials " + gcloud.string());
  }
  throw CredentialsError(where +
                         ": no Google credentials: GOOGLE_APPLICATION_CREDENTIALS is not "
                         "set and " +
                         gcloud.string() +
                         " does not exist (set GOOGLE_SERVICE_ACC_KEY_FILEPATH or "
                         "GOOGLE_APPLICATION_CREDENTIALS; the GCE metadata server is not "
                         "supported)");
}

GoogleCredentials ParseServiceAccountKey(const nlohmann::json& key, const std::string& origin) {
  if (!key.is_object()) {
    throw CredentialsError(origin + ": a service-account key is a JSON object");
  }
  const std::string type = Field(key, "type", origin, true);
  if (type != "service_account") {
    throw CredentialsError(origin + ": the key's type is '" + type + "', not 'service_account'");
  }
  GoogleCredentials c;
  c.type = GoogleCredentials::Type::kServiceAccount;
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
