// connectors/s3/sigv4.h: AWS Signature Version 4 for S3-compatible stores (AWS, MinIO, R2, GCS's
// interoperability endpoint). Pure: the clock is an argument, so tests pin it.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kiln::connectors {

//! The keys that sign a request.
struct SigV4Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  //!< "" when none (else sent as x-amz-security-token)
  std::string region = "us-east-1";
  std::string service = "s3";
};

//! One request to sign.
struct SigV4Request {
  std::string method;  //!< "GET", "PUT", ...
  std::string host;    //!< the Host header, e.g. "bucket.s3.amazonaws.com" or "127.0.0.1:4568"
  std::string canonical_uri;  //!< the path, already encoded with UriEncode(path, false)
  std::vector<std::pair<std::string, std::string>> query;  //!< unencoded names and values
  std::map<std::string, std::string> headers;              //!< lower-case names; host is added
  std::string payload_sha256;  //!< hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

//! RFC 3986 encoding as SigV4 requires: A-Z a-z 0-9 - . _ ~ kept, everything else %XX
//! (upper-case hex); '/' kept unless `encode_slash`.
std::string UriEncode(std::string_view text, bool encode_slash);

//! Adds host, x-amz-date, x-amz-content-sha256 (and x-amz-security-token) to `request.headers`
//! and returns the Authorization header value:
//! "AWS4-HMAC-SHA256 Credential=<key id>/<date>/<region>/<service>/aws4_request,
//!  SignedHeaders=<names>, Signature=<hex>".
std::string SignV4(SigV4Request& request, const SigV4Credentials& credentials,
                   std::chrono::system_clock::time_point now);

//! The canonical request SignV4 hashes (for tests and for debugging a SignatureDoesNotMatch).
std::string CanonicalRequest(const SigV4Request& request);

}  // namespace kiln::connectors
