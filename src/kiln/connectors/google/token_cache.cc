#include "kiln/connectors/google/token_cache.h"

#include <nlohmann/json.hpp>

#include "kiln/connectors/object_store/object_store.h"

namespace kiln::connectors {
namespace {

constexpr auto kRefreshMargin = std::chrono::seconds(60);

//! The form body of the token request (Google's OAuth 2.0 docs, RFC 7523 / RFC 6749 §6).
std::string FormBody(const GoogleCredentials& c, std::chrono::system_clock::time_point now) {
  if (c.type == GoogleCredentials::Type::kServiceAccount) {
    return "grant_type=" + PercentEncode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
           "&assertion=" + PercentEncode(JwtAssertion(c, kCloudPlatformScope, now));
  }
  return "grant_type=refresh_token&client_id=" + PercentEncode(c.client_id) +
         "&client_secret=" + PercentEncode(c.client_secret) +
         "&refresh_token=" + PercentEncode(c.refresh_token);
}

//! What to tell the user about Google's {"error","error_description"} answer.
std::string Advice(const GoogleCredentials& c, const std::string& error,
                   const std::string& description) {
  if (description.find("used too early") != std::string::npos ||
      description.find("used too late") != std::string::npos ||
      description.find("Invalid JWT: Token must be a short-lived") != std::string::npos) {
    return ": this machine's clock looks wrong (the JWT's iat/exp are taken from it); "
           "synchronise it (e.g. with NTP)";
  }
  if (error == "invalid_grant") {
    return c.type == GoogleCredentials::Type::kServiceAccount
               ? ": the key was deleted or rotated"
               : ": the refresh token was revoked or expired (run `gcloud auth "
                 "application-default login` again)";
  }
  if (error == "invalid_client" || error == "unauthorized_client") {
    return ": the client is not allowed to get tokens (check the key or client id)";
  }
  return "";
}

[[noreturn]] void ThrowRejected(const GoogleCredentials& c, const HttpResponse& response) {
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  std::string error, description;
  if (body.is_object()) {
    if (auto it = body.find("error"); it != body.end() && it->is_string()) error = *it;
    if (auto it = body.find("error_description"); it != body.end() && it->is_string()) {
      description = *it;
    }
  }
  std::string what = c.type == GoogleCredentials::Type::kServiceAccount
                         ? "Google rejected the service account key"
                         : "Google rejected the user credentials";
  std::string detail = error.empty() ? response.StatusText()
                                     : error + (description.empty() ? "" : ": " + description);
  const auto kind = response.status >= 500 || response.status == 429
                        ? ObjectStoreError::Kind::kTransport
                        : ObjectStoreError::Kind::kAuthentication;
  throw ObjectStoreError(
      kind, c.origin + ": " + what + " (" + detail + ")" + Advice(c, error, description));
}

}  // namespace

GoogleTokenCache::GoogleTokenCache(Clock clock) : clock_(std::move(clock)) {}

std::shared_ptr<GoogleTokenCache::Entry> GoogleTokenCache::EntryFor(const std::string& key) {
  std::lock_guard<std::mutex> guard(mutex_);
  std::shared_ptr<Entry>& entry = entries_[key];
  if (!entry) entry = std::make_shared<Entry>();
  return entry;
}

std::string GoogleTokenCache::Token(const GoogleCredentials& credentials, const HttpOptions& http) {
  std::shared_ptr<Entry> entry = EntryFor(credentials.CacheKey());
  std::lock_guard<std::mutex> exchange(entry->exchange);  // one exchange in flight per identity
  auto now = clock_();
  if (!entry->token.empty() && now < entry->refresh_at) return entry->token;

  HttpRequest request("POST", credentials.token_uri);
  request.headers.Add("Content-Type", "application/x-www-form-urlencoded");
  request.headers.Add("Accept", "application/json");
  request.body = FormBody(credentials, now);
  request.connect_timeout = http.connect_timeout;
  request.low_speed_timeout = http.low_speed_timeout;
  HttpResponse response = SendWithRetries(request, http.retry, http.log);
  if (!response.transport_error.empty()) {
    throw ObjectStoreError(ObjectStoreError::Kind::kTransport,
                           credentials.origin + ": cannot get a Google access token from " +
                               credentials.token_uri + ": " + response.transport_error);
  }
  if (!response.ok()) ThrowRejected(credentials, response);
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (!body.is_object() || !body.contains("access_token") || !body["access_token"].is_string() ||
      body["access_token"].get<std::string>().empty()) {
    throw ObjectStoreError(ObjectStoreError::Kind::kAuthentication,
                           credentials.origin + ": the token endpoint " + credentials.token_uri +
                               " answered without an access_token");
  }
  int64_t expires_in = 3600;
  if (auto it = body.find("expires_in"); it != body.end() && it->is_number_integer()) {
    expires_in = it->get<int64_t>();
  }
  entry->token = body["access_token"].get<std::string>();
  entry->refresh_at = now + std::chrono::seconds(expires_in) - kRefreshMargin;
  return entry->token;
}

void GoogleTokenCache::Invalidate(const GoogleCredentials& credentials) {
  std::shared_ptr<Entry> entry = EntryFor(credentials.CacheKey());
  std::lock_guard<std::mutex> exchange(entry->exchange);
  entry->token.clear();
}

}  // namespace kiln::connectors
