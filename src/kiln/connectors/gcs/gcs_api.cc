#include "kiln/connectors/gcs/gcs_api.h"

#include <random>

namespace kiln::connectors::gcs_internal {
namespace {

using Kind = ObjectStoreError::Kind;

//! Google's JSON error {"error":{"code","message","errors":[{"reason","message"}]}}: the first
//! reason ("notFound", "forbidden") and the message, either possibly empty.
std::pair<std::string, std::string> ApiError(const HttpResponse& response) {
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  std::string reason, message;
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) {
    return {reason, message};
  }
  const nlohmann::json& error = body["error"];
  if (auto it = error.find("message"); it != error.end() && it->is_string()) message = *it;
  if (auto it = error.find("errors");
      it != error.end() && it->is_array() && !it->empty() && (*it)[0].is_object()) {
    const nlohmann::json& first = (*it)[0];
    if (auto r = first.find("reason"); r != first.end() && r->is_string()) reason = *r;
  }
  return {reason, message};
}

uint64_t NumberOrString(const nlohmann::json& value) {
  if (value.is_number_unsigned() || value.is_number_integer()) return value.get<uint64_t>();
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    uint64_t n = 0;
    for (char c : text) {
      if (c < '0' || c > '9') return 0;
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    return n;
  }
  return 0;
}

}  // namespace

GcsApi::GcsApi(std::string base_url, std::optional<GoogleCredentials> credentials,
               std::shared_ptr<GoogleTokenCache> tokens, HttpOptions http)
    : base_url_(std::move(base_url)),
      credentials_(std::move(credentials)),
      tokens_(std::move(tokens)),
      http_(std::move(http)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

std::string GcsApi::Who() const {
  return credentials_ ? credentials_->Identity() : std::string();
}

HttpResponse GcsApi::Send(HttpRequest request, const CallSite& site, bool retry) {
  request.connect_timeout = http_.connect_timeout;
  request.low_speed_timeout = http_.low_speed_timeout;
  std::minstd_rand random(std::random_device{}());
  bool refreshed = false;
  for (int attempt = 1;; ++attempt) {
    if (credentials_) {
      try {
        request.headers.Set("Authorization", "Bearer " + tokens_->Token(*credentials_, http_));
      } catch (const ObjectStoreError& e) {
        throw ObjectStoreError(e.kind(), site.Failed(e.what()));
      }
    }
    HttpResponse response = SendHttp(request);
    if (response.transport_error == "cancelled") {
      throw ObjectStoreError(Kind::kCancelled, site.Failed("cancelled"));
    }
    if (response.status == 401 && credentials_ && !refreshed) {
      tokens_->Invalidate(*credentials_);  // expired or revoked: one more try with a new token
      refreshed = true;
      --attempt;
      continue;
    }
    if (!retry || !IsRetryable(response) || attempt >= http_.retry.max_attempts) return response;
    auto delay = RetryDelay(http_.retry, attempt + 1, RetryAfter(response), random);
    if (http_.log) {
      std::string why =
          response.transport_error.empty() ? response.StatusText() : response.transport_error;
      http_.log("warning: " + site.op + " " + site.Uri() + ": " + why + "; retrying in " +
                FormatSeconds(delay) + " (try " + std::to_string(attempt + 1) + " of " +
                std::to_string(http_.retry.max_attempts) + ")");
    }
    if (!SleepUnlessCancelled(delay, request.cancelled)) {
      throw ObjectStoreError(Kind::kCancelled, site.Failed("cancelled"));
    }
  }
}

ObjectStoreError GcsApi::Error(const HttpResponse& response, const CallSite& site,
                               bool object_404) const {
  if (!response.transport_error.empty()) {
    return ObjectStoreError(
        response.transport_error == "cancelled" ? Kind::kCancelled : Kind::kTransport,
        site.Failed(response.transport_error));
  }
  auto [reason, message] = ApiError(response);
  std::string detail = "GCS " + std::to_string(response.status) +
                       (reason.empty() ? "" : " " + reason) +
                       (message.empty() ? "" : ": " + message);
  switch (response.status) {
    case 404:
      if (object_404) {
        return ObjectStoreError(
            Kind::kNoSuchObject,
            site.Failed("no object '" + site.key + "' in bucket '" + site.bucket + "'"));
      }
      return ObjectStoreError(Kind::kNoSuchBucket,
                              site.Failed("bucket '" + site.bucket + "' does not exist (GCS 404" +
                                          (reason.empty() ? "" : " " + reason) + ")"));
    case 401:
      return ObjectStoreError(
          Kind::kAuthentication,
          site.Failed("Google rejected the token of " +
                      (credentials_ ? credentials_->origin + " (" + Who() + ")" : "the emulator") +
                      " (" + detail + ")"));
    case 403:
      return ObjectStoreError(
          Kind::kAccessDenied,
          site.Failed("permission denied" + (Who().empty() ? "" : " for " + Who()) +
                      " on bucket '" + site.bucket + "' (" + detail + ")"));
    default:
      return ObjectStoreError(
          Kind::kOther,
          site.Failed(response.StatusText() +
                      (message.empty() && reason.empty() ? "" : " (" + detail + ")")));
  }
}

bool GcsApi::BucketExists(const CallSite& site) {
  HttpResponse response = Send(HttpRequest("GET", BucketUrl(site.bucket) + "?fields=name"), site);
  if (response.status == 404 && response.transport_error.empty()) return false;
  if (!response.ok()) throw Error(response, site);
  return true;
}

std::string GcsApi::BucketUrl(std::string_view bucket) const {
  return base_url_ + "/storage/v1/b/" + PercentEncode(bucket);
}

std::string GcsApi::ObjectUrl(std::string_view bucket, std::string_view key) const {
  return BucketUrl(bucket) + "/o/" + PercentEncode(key);
}

std::string GcsApi::UploadUrl(std::string_view bucket) const {
  return base_url_ + "/upload/storage/v1/b/" + PercentEncode(bucket) + "/o";
}

ObjectInfo ObjectInfoFromJson(const nlohmann::json& object) {
  ObjectInfo info;
  if (!object.is_object()) return info;
  if (auto it = object.find("name"); it != object.end() && it->is_string()) info.key = *it;
  if (auto it = object.find("size"); it != object.end()) info.size = NumberOrString(*it);
  if (auto it = object.find("generation"); it != object.end()) {
    info.version = it->is_string() ? it->get<std::string>() : it->dump();
  }
  return info;
}

}  // namespace kiln::connectors::gcs_internal
