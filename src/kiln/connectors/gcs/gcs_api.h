// connectors/gcs/gcs_api.h: authorized, retried requests to the GCS JSON API and the mapping of
// its answers to ObjectStoreError (internal to gcs/; docs/design/cloud.md §5, §6).
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "kiln/connectors/google/token_cache.h"
#include "kiln/connectors/http/http_client.h"
#include "kiln/connectors/http/retry.h"
#include "kiln/connectors/object_store/object_store.h"

namespace kiln::connectors::gcs_internal {

//! What a call is about, for messages: "upload gs://b/k".
struct CallSite {
  std::string op;      //!< "upload", "download", "stat", "list", "delete"
  std::string bucket;  //!< the bucket
  std::string key;     //!< the object name or list prefix ("" for a bucket)
  std::string Uri() const { return "gs://" + bucket + (key.empty() ? "" : "/" + key); }
  //! "<op> gs://b/k failed: <reason>".
  std::string Failed(const std::string& reason) const {
    return op + " " + Uri() + " failed: " + reason;
  }
};

//! The connection to one GCS endpoint. Thread-safe (shares the token cache).
class GcsApi {
 public:
  //! `base_url`: "https://storage.googleapis.com" or an emulator's URL (no trailing '/').
  //! `credentials`: nullopt for an emulator (no Authorization header is sent).
  GcsApi(std::string base_url, std::optional<GoogleCredentials> credentials,
         std::shared_ptr<GoogleTokenCache> tokens, HttpOptions http);

  const std::string& base_url() const { return base_url_; }
  const HttpOptions& http() const { return http_; }

  //! Sends `request` with "Authorization: Bearer <token>" (unless an emulator) and the
  //! configured timeouts. A 401 invalidates the token and sends once more with a fresh one; with
  //! `retry`, transport errors, 408, 429 and 5xx are retried per the policy. Returns the last
  //! response; throws ObjectStoreError: kAuthentication (token refused, or 401 twice),
  //! kCancelled (cancelled during a pause or the transfer).
  HttpResponse Send(HttpRequest request, const CallSite& site, bool retry = true);

  //! The error for a response that is not what `site` needed: 404 as kNoSuchBucket (or
  //! kNoSuchObject when `object_404`), 401/403 naming the account and bucket, transport errors.
  ObjectStoreError Error(const HttpResponse& response, const CallSite& site,
                         bool object_404 = false) const;

  //! Whether the bucket exists (GET /storage/v1/b/{bucket}?fields=name). Throws Error() for
  //! answers other than 200 and 404.
  bool BucketExists(const CallSite& site);

  //! "<base>/storage/v1/b/<bucket>/o/<object>" with both names percent-encoded ('/' too).
  std::string ObjectUrl(std::string_view bucket, std::string_view key) const;
  //! "<base>/storage/v1/b/<bucket>".
  std::string BucketUrl(std::string_view bucket) const;
  //! "<base>/upload/storage/v1/b/<bucket>/o".
  std::string UploadUrl(std::string_view bucket) const;

 private:
  std::string Who() const;

  std::string base_url_;
  std::optional<GoogleCredentials> credentials_;
  std::shared_ptr<GoogleTokenCache> tokens_;
  HttpOptions http_;
};

//! The ObjectInfo of a GCS object resource ({"name","size","generation"}; size and generation
//! are JSON strings per the API, numbers accepted too).
ObjectInfo ObjectInfoFromJson(const nlohmann::json& object);

}  // namespace kiln::connectors::gcs_internal
