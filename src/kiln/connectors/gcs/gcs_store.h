// connectors/gcs/gcs_store.h: Google Cloud Storage through its JSON API (docs/design/cloud.md
// §5): objects up to 8 MiB in one media upload, larger ones through a resumable session whose
// last chunk is sent only after every earlier byte is acknowledged, so an object appears whole
// or not at all. Requests carry a bearer token from the process's GoogleTokenCache, or nothing
// when STORAGE_EMULATOR_HOST names an emulator. Usage (through OpenObjectStore):
//
//   GcsObjectStore store(GcsEndpoint{}, credentials, services.google_tokens, services.http);
//   store.Upload("/tmp/nyc_taxi_data.parquet", "mage-zoomcamp", "nyc_taxi_data.parquet", {});
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "kiln/connectors/gcs/gcs_api.h"
#include "kiln/connectors/google/credentials.h"
#include "kiln/connectors/google/token_cache.h"
#include "kiln/connectors/http/retry.h"
#include "kiln/connectors/object_store/object_store.h"

namespace kiln::connectors {

//! Google's public endpoint of the JSON API.
inline constexpr const char* kGcsBaseUrl = "https://storage.googleapis.com";

//! The base URL of STORAGE_EMULATOR_HOST's value: "host:port" gets "http://"; a URL is kept
//! (without a trailing '/').
std::string GcsEmulatorBaseUrl(std::string_view host);

//! ObjectStore over GCS. Thread-safe: calls share only the token cache.
class GcsObjectStore : public ObjectStore {
 public:
  //! `base_url`: kGcsBaseUrl or an emulator's (GcsEmulatorBaseUrl). `credentials`: the account
  //! to act as, or nullopt for an emulator (no Authorization header). `tokens`: the process's
  //! cache (REQUIRES: not null when credentials are given). `http`: timeouts, the retry policy
  //! (4 tries, 0.5 s doubling: transport errors, 408, 429, 5xx) and the warning log.
  GcsObjectStore(std::string base_url, std::optional<GoogleCredentials> credentials,
                 std::shared_ptr<GoogleTokenCache> tokens, HttpOptions http);

  std::string_view scheme() const override { return "gs"; }
  //! GET .../o?prefix=..&maxResults=1000&pageToken=.. until no nextPageToken. A missing bucket
  //! throws kNoSuchBucket.
  std::vector<ObjectInfo> List(std::string_view bucket, std::string_view prefix) override;
  //! GET .../o/<key>?fields=name,size,generation; a 404 is nullopt when the bucket exists.
  std::optional<ObjectInfo> Stat(std::string_view bucket, std::string_view key) override;
  //! GET .../o/<key>?alt=media into a temporary sibling of `dest`, renamed when complete
  //! (version = x-goog-generation). kNoSuchObject / kNoSuchBucket when absent.
  ObjectInfo Download(std::string_view bucket, std::string_view key,
                      const std::filesystem::path& dest) override;
  //! Buffers up to options.single_request_limit for one media upload; beyond it, opens a
  //! resumable session and sends chunks of options.part_size (rounded down to 256 KiB
  //! multiples) as they fill. Destroyed without Commit(): the session is deleted.
  std::unique_ptr<ObjectWriter> OpenWriter(std::string_view bucket, std::string_view key,
                                           const UploadOptions& options) override;
  //! One media upload (<= single_request_limit) or a resumable session reading chunks straight
  //! from the file; a dropped connection resumes at the server's offset, never from 0.
  ObjectInfo Upload(const std::filesystem::path& source, std::string_view bucket,
                    std::string_view key, const UploadOptions& options) override;
  //! DELETE .../o/<key>; 404 is success.
  void Delete(std::string_view bucket, std::string_view key) override;

 private:
  gcs_internal::GcsApi api_;
};

}  // namespace kiln::connectors
