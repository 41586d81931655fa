// connectors/s3/s3_store.h: the ObjectStore of S3 and S3-compatible stores (AWS, MinIO, R2,
// GCS's interoperability endpoint, s3rver) over the REST API with SigV4 (docs/design/cloud.md
// §5 "S3", §7). Objects up to UploadOptions::single_request_limit (8 MiB) are one PutObject;
// larger ones a multipart upload (parts >= 5 MiB, up to 4 in flight) completed last and aborted
// on failure, so an object never appears half written. Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "kiln/connectors/http/retry.h"
#include "kiln/connectors/object_store/object_store.h"
#include "kiln/connectors/s3/s3_client.h"
#include "kiln/connectors/s3/settings.h"

namespace kiln::connectors {

//! Tuning of an S3ObjectStore.
struct S3StoreOptions {
  int max_keys = 1000;  //!< objects per ListObjectsV2 page (1..1000; tests page with 2)
};

class S3ObjectStore : public ObjectStore {
 public:
  //! `settings` as ResolveS3Settings left them (keys and region set); `http` gives timeouts,
  //! retries and where warnings (failed aborts) go. Sends nothing until called.
  S3ObjectStore(S3Settings settings, HttpOptions http, S3StoreOptions options = {});

  std::string_view scheme() const override { return "s3"; }
  //! ListObjectsV2, every page (continuation tokens), in key order; version = ETag.
  std::vector<ObjectInfo> List(std::string_view bucket, std::string_view prefix) override;
  //! HEAD of the object; on 404 a HEAD of the bucket tells a missing key (nullopt) from a
  //! missing bucket (kNoSuchBucket).
  std::optional<ObjectInfo> Stat(std::string_view bucket, std::string_view key) override;
  //! GET into `dest` + ".kiln-part-<n>", renamed to `dest` when complete (removed on failure).
  //! Throws kNoSuchObject naming bucket and key, kNoSuchBucket, ...
  ObjectInfo Download(std::string_view bucket, std::string_view key,
                      const std::filesystem::path& dest) override;
  //! A writer that buffers up to options.single_request_limit bytes for one PutObject, and past
  //! it switches to a multipart upload with parts of S3PartSize(0, options.part_size) bytes.
  std::unique_ptr<ObjectWriter> OpenWriter(std::string_view bucket, std::string_view key,
                                           const UploadOptions& options) override;
  //! One PutObject when the file has at most options.single_request_limit bytes, else a
  //! multipart upload, parts read from the file as they are sent (up to 4 in flight).
  ObjectInfo Upload(const std::filesystem::path& source, std::string_view bucket,
                    std::string_view key, const UploadOptions& options) override;
  //! DELETE of the object (S3 answers 204 for a missing key too).
  void Delete(std::string_view bucket, std::string_view key) override;

  //! One PutObject of `bytes` (for writers and small uploads). Throws ObjectStoreError.
  ObjectInfo Put(const std::string& bucket, const std::string& key, std::string bytes,
                 const UploadOptions& options);

 private:
  S3Client client_;
  S3StoreOptions options_;
};

}  // namespace kiln::connectors
