// connectors/s3/s3_client.h: signed S3 requests and their errors, shared by the S3 store and its
// multipart uploads (internal to s3/). Every request is signed with SigV4 over the SHA-256 of its
// body (never UNSIGNED-PAYLOAD) and retried per the HttpOptions' policy; errors become one-line
// ObjectStoreErrors naming the bucket, the key and what to check (docs/design/cloud.md §6).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kiln/connectors/http/http_client.h"
#include "kiln/connectors/http/retry.h"
#include "kiln/connectors/object_store/object_store.h"
#include "kiln/connectors/s3/settings.h"

namespace kiln::connectors {

//! One S3 call.
struct S3Call {
  std::string method = "GET";
  std::string bucket;
  std::string key;                                         //!< "" for the bucket itself
  std::vector<std::pair<std::string, std::string>> query;  //!< unencoded
  std::string body;                                        //!< sent, hashed and signed
  std::string content_type;                                //!< sent and signed when not ""
  std::optional<std::filesystem::path> response_file;      //!< a 2xx body goes there
  std::function<bool()> cancelled;                         //!< may be empty
};

//! `call` as an HTTP request signed at `now`: URL (AddressOf) and headers host, x-amz-date,
//! x-amz-content-sha256 (hex SHA-256 of the body), content-type and x-amz-security-token when
//! set, Authorization (SignV4). Timeouts are left at their defaults. Throws ObjectStoreError for
//! a bad AWS_ENDPOINT.
HttpRequest SignS3Call(const S3Settings& settings, const S3Call& call,
                       std::chrono::system_clock::time_point now);

//! A call of `method` on `key` ("" = the bucket) of `bucket` with `query`; set the rest after.
S3Call MakeS3Call(std::string method, std::string bucket, std::string key = "",
                  std::vector<std::pair<std::string, std::string>> query = {});

class S3Client {
 public:
  //! `settings` as ResolveS3Settings left them (keys and region set).
  S3Client(S3Settings settings, HttpOptions http);

  //! Signs and sends `call`, retrying transport errors, 408, 429 and 5xx. Returns the last
  //! response, whatever its status. Exceptions of SendHttp (unreadable body file) propagate.
  HttpResponse Send(const S3Call& call) const;

  //! The error for a failed `response` of `op` ("upload", "download", "list", ...) on
  //! s3://bucket/key: kNoSuchBucket, kNoSuchObject, kAccessDenied / kAuthentication (naming the
  //! access key id and the setting to check), a 301's region hint, kTransport, kCancelled, or
  //! kOther with the status and S3's code and message. A 200 with an <Error> body (as S3 may
  //! answer CompleteMultipartUpload) is a failure too.
  ObjectStoreError Failure(const std::string& op, const std::string& bucket, const std::string& key,
                           const HttpResponse& response) const;

  //! "warning: ..." lines (failed aborts) go to the HttpOptions' log; ignored when it is empty.
  void Warn(const std::string& line) const;

  const S3Settings& settings() const { return settings_; }

 private:
  S3Settings settings_;
  HttpOptions http_;
};

//! "s3://bucket/key" (or "s3://bucket" when key is empty), for messages.
std::string S3Uri(const std::string& bucket, const std::string& key);

}  // namespace kiln::connectors
