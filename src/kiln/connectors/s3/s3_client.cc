#include "kiln/connectors/s3/s3_client.h"

#include "kiln/connectors/crypto/digest.h"
#include "kiln/connectors/s3/endpoint.h"
#include "kiln/connectors/s3/s3_xml.h"
#include "kiln/connectors/s3/sigv4.h"

namespace kiln::connectors {
namespace {

using Kind = ObjectStoreError::Kind;

//! `text` with every `from` replaced by `to`.
std::string Replace(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

}  // namespace

std::string S3Uri(const std::string& bucket, const std::string& key) {
  return "s3://" + bucket + (key.empty() ? "" : "/" + key);
}

S3Client::S3Client(S3Settings settings, HttpOptions http)
    : settings_(std::move(settings)), http_(std::move(http)) {}

S3Call MakeS3Call(std::string method, std::string bucket, std::string key,
                  std::vector<std::pair<std::string, std::string>> query) {
  S3Call call;
  call.method = std::move(method);
  call.bucket = std::move(bucket);
  call.key = std::move(key);
  call.query = std::move(query);
  return call;
}

HttpRequest SignS3Call(const S3Settings& settings, const S3Call& call,
                       std::chrono::system_clock::time_point now) {
  const S3Address address = AddressOf(settings, call.bucket, call.key, call.query);
  SigV4Request sig;
  sig.method = call.method;
  sig.host = address.host;
  sig.canonical_uri = address.canonical_uri;
  sig.query = address.query;
  if (!call.content_type.empty()) sig.headers["content-type"] = call.content_type;
  sig.payload_sha256 = Hex(Sha256(call.body));
  SigV4Credentials credentials;
  credentials.access_key_id = settings.access_key_id;
  credentials.secret_access_key = settings.secret_access_key;
  credentials.session_token = settings.session_token;
  credentials.region = settings.region.empty() ? "us-east-1" : settings.region;
  const std::string authorization = SignV4(sig, credentials, now);

  HttpRequest request;
  request.method = call.method;
  request.url = address.url;
  for (const auto& [name, value] : sig.headers) request.headers.Add(name, value);
  request.headers.Add("Authorization", authorization);
  if (!call.body.empty() || call.method == "PUT" || call.method == "POST") request.body = call.body;
  request.response_file = call.response_file;
  request.cancelled = call.cancelled;
  return request;
}

HttpResponse S3Client::Send(const S3Call& call) const {
  HttpRequest request = SignS3Call(settings_, call, std::chrono::system_clock::now());
  request.connect_timeout = http_.connect_timeout;
  request.low_speed_timeout = http_.low_speed_timeout;
  return SendWithRetries(request, http_.retry, http_.log);
}

ObjectStoreError S3Client::Failure(const std::string& op, const std::string& bucket,
                                   const std::string& key, const HttpResponse& r) const {
  const std::string head = op + " " + S3Uri(bucket, key) + " failed: ";
  if (!r.transport_error.empty()) {
    const bool cancelled = r.transport_error == "cancelled";
    return ObjectStoreError(cancelled ? Kind::kCancelled : Kind::kTransport,
                            head + r.transport_error);
  }
  const std::optional<S3ErrorBody> error = ParseS3Error(r.body);
  const std::string code = error ? error->code : "";
  const std::string detail = "S3 " + std::to_string(r.status) + (code.empty() ? "" : " " + code) +
                             (error && !error->message.empty() ? ": " + error->message : "");
  if (code == "NoSuchBucket") {
    return ObjectStoreError(Kind::kNoSuchBucket,
                            head + "bucket '" + bucket + "' does not exist (" + detail + ")");
  }
  if (code == "NoSuchKey" || (r.status == 404 && code.empty() && !key.empty())) {
    return ObjectStoreError(Kind::kNoSuchObject,
                            head + "no object '" + key + "' in bucket '" + bucket + "'");
  }
  if (r.status == 301 || code == "PermanentRedirect") {
    std::string region = r.headers.Get("x-amz-bucket-region").value_or("");
    std::string from = "header x-amz-bucket-region";
    if (region.empty() && error) {
      region = error->region;
      from = "S3's answer";
    }
    if (!region.empty()) {
      return ObjectStoreError(
          Kind::kOther, head + "bucket '" + bucket + "' is in region " + region + " (" + from +
                            "); set AWS_REGION: " + region + " in " + settings_.origin);
    }
  }
  if (code == "SignatureDoesNotMatch") {
    return ObjectStoreError(Kind::kAuthentication,
                            head + "S3 rejected the signature of access key id " +
                                settings_.access_key_id + " on bucket '" + bucket + "' (" + detail +
                                "): check " + settings_.secret_source);
  }
  if (code == "InvalidAccessKeyId") {
    const std::string key_source =
        Replace(Replace(settings_.secret_source, "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"),
                "aws_secret_access_key", "aws_access_key_id");
    return ObjectStoreError(Kind::kAuthentication, head + "S3 does not know access key id " +
                                                       settings_.access_key_id + " (" + detail +
                                                       "): check " + key_source);
  }
  if (r.status == 403) {
    return ObjectStoreError(Kind::kAccessDenied,
                            head + "access denied to access key id " + settings_.access_key_id +
                                " on bucket '" + bucket + "'" +
                                (key.empty() ? "" : ", key '" + key + "'") + " (" + detail +
                                "): check the key's permissions and " + settings_.secret_source);
  }
  return ObjectStoreError(Kind::kOther, head + detail);
}

void S3Client::Warn(const std::string& line) const {
  if (http_.log) http_.log(line);
}

}  // namespace kiln::connectors
