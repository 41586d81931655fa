// connectors/google/token_cache.h: OAuth2 access tokens for Google APIs, one cache per process
// (held by CloudServices) so GCS and BigQuery share them. A service account signs a JWT and
// exchanges it at its token_uri (grant type urn:ietf:params:oauth:grant-type:jwt-bearer); gcloud
// user credentials exchange their refresh token (grant type refresh_token). Usage:
//
//   std::string bearer = services.google_tokens->Token(credentials, services.http);
//   ... request.headers.Add("Authorization", "Bearer " + bearer) ...
//   if (response.status == 401) services.google_tokens->Invalidate(credentials);  // retry once
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kiln/connectors/google/credentials.h"
#include "kiln/connectors/http/retry.h"

namespace kiln::connectors {

class GoogleTokenCache {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  //! `clock` dates the JWTs and the expiries (the system clock unless a test passes another).
  explicit GoogleTokenCache(Clock clock = [] { return std::chrono::system_clock::now(); });
  GoogleTokenCache(const GoogleTokenCache&) = delete;
  GoogleTokenCache& operator=(const GoogleTokenCache&) = delete;

  //! A bearer token for `credentials` (scope cloud-platform), cached per identity
  //! (GoogleCredentials::CacheKey) until 60 s before it expires. Threads asking for the same
  //! identity wait for one exchange instead of making their own. The exchange is retried per
  //! `http.retry` on transport errors, 408, 429 and 5xx. Throws ObjectStoreError
  //! kAuthentication naming the credentials' origin and Google's error (invalid_grant: "the key
  //! was deleted or rotated"; "Token used too early/late": a clock-skew hint), kTransport when
  //! the token endpoint cannot be reached. Never puts a secret in a message.
  std::string Token(const GoogleCredentials& credentials, const HttpOptions& http);

  //! Forgets the token of `credentials` (after a 401), so the next Token() exchanges again.
  void Invalidate(const GoogleCredentials& credentials);

 private:
  //! One identity's token; `exchange` is held while a token is fetched for it.
  struct Entry {
    std::mutex exchange;
    std::string token;
    std::chrono::system_clock::time_point refresh_at;  //!< 60 s before expiry
  };
  std::shared_ptr<Entry> EntryFor(const std::string& key);

  Clock clock_;
  std::mutex mutex_;  //!< guards entries_
  std::map<std::string, std::shared_ptr<Entry>> entries_;
};

}  // namespace kiln::connectors
