#include "kiln/connectors/gcs/resumable_upload.h"

#include <random>

namespace kiln::connectors::gcs_internal {
namespace {

using Kind = ObjectStoreError::Kind;

//! "bytes=0-N" -> N + 1; nullopt when malformed.
std::optional<uint64_t> PersistedFromRange(const std::string& range) {
  const std::string prefix = "bytes=0-";
  if (!range.starts_with(prefix) || range.size() == prefix.size()) return std::nullopt;
  uint64_t last = 0;
  for (size_t i = prefix.size(); i < range.size(); ++i) {
    if (range[i] < '0' || range[i] > '9') return std::nullopt;
    last = last * 10 + static_cast<uint64_t>(range[i] - '0');
  }
  return last + 1;
}

std::string TotalText(std::optional<uint64_t> total) {
  return total ? std::to_string(*total) : "*";
}

}  // namespace

uint64_t ChunkSize(uint64_t part_size) {
  return std::max(kChunkQuantum, part_size / kChunkQuantum * kChunkQuantum);
}

ResumableUpload::ResumableUpload(GcsApi& api, CallSite site, const std::string& content_type,
                                 std::optional<uint64_t> total_size,
                                 std::function<bool()> cancelled)
    : api_(api), site_(std::move(site)), cancelled_(std::move(cancelled)), total_(total_size) {
  HttpRequest start("POST", api_.UploadUrl(site_.bucket) + "?uploadType=resumable");
  start.headers.Add("Content-Type", "application/json; charset=UTF-8");
  start.headers.Add("X-Upload-Content-Type", content_type);
  if (total_size) start.headers.Add("X-Upload-Content-Length", std::to_string(*total_size));
  start.body = nlohmann::json{{"name", site_.key}}.dump();
  start.cancelled = cancelled_;
  HttpResponse response = api_.Send(std::move(start), site_);
  if (!response.ok()) throw api_.Error(response, site_);
  std::optional<std::string> location = response.headers.Get("location");
  if (!location || location->empty()) {
    finished_ = true;
    throw ObjectStoreError(Kind::kOther,
                           site_.Failed("GCS started a resumable upload without a Location"));
  }
  session_uri_ = *location;
}

ResumableUpload::~ResumableUpload() {
  Abort();
}

void ResumableUpload::Abort() noexcept {
  if (finished_) return;
  finished_ = true;
  try {
    CallSite abort_site = site_;
    abort_site.op = "abort upload of";
    HttpResponse response =
        api_.Send(HttpRequest("DELETE", session_uri_), abort_site, /*retry=*/false);
    // Google answers 499 (client closed request) when the session is cancelled.
    const long s = response.status;
    if (!response.transport_error.empty() ||
        !(s == 499 || s == 204 || s == 200 || s == 404 || s == 410)) {
      if (api_.http().log) {
        api_.http().log(std::string("warning: ") + api_.Error(response, abort_site).what() +
                        " (the unfinished session expires within a week; no object appeared)");
      }
    }
  } catch (const std::exception& e) {
    if (api_.http().log) {
      try {
        api_.http().log(std::string("warning: ") + e.what() +
                        " (the unfinished session expires within a week; no object appeared)");
      } catch (...) {
      }
    }
  }
}

std::optional<ResumableUpload::Progress> ResumableUpload::ProgressOf(
    const HttpResponse& response) const {
  if (!response.transport_error.empty()) return std::nullopt;
  if (response.status == 200 || response.status == 201) {
    nlohmann::json object = nlohmann::json::parse(response.body, nullptr, false);
    if (object.is_discarded()) object = nlohmann::json::object();
    ObjectInfo info = ObjectInfoFromJson(object);
    return Progress{info.size, std::move(object)};
  }
  if (response.status == 308) {
    std::optional<std::string> range = response.headers.Get("range");
    if (!range) return Progress{0, std::nullopt};
    if (std::optional<uint64_t> persisted = PersistedFromRange(*range)) {
      return Progress{*persisted, std::nullopt};
    }
    throw ObjectStoreError(Kind::kOther,
                           site_.Failed("GCS answered 308 with a malformed Range: " + *range));
  }
  return std::nullopt;
}

HttpResponse ResumableUpload::QueryStatus(std::optional<uint64_t> total) {
  HttpRequest query("PUT", session_uri_);
  query.headers.Add("Content-Range", "bytes */" + TotalText(total));
  query.cancelled = cancelled_;
  return api_.Send(std::move(query), site_, /*retry=*/false);
}

ResumableUpload::Progress ResumableUpload::PutChunk(uint64_t offset,
                                                    std::variant<std::string, FileRange> body,
                                                    uint64_t length,
                                                    std::optional<uint64_t> total) {
  HttpRequest put("PUT", session_uri_);
  if (length == 0) {
    put.headers.Add("Content-Range", "bytes */" + TotalText(total));
  } else {
    put.headers.Add("Content-Range", "bytes " + std::to_string(offset) + "-" +
                                         std::to_string(offset + length - 1) + "/" +
                                         TotalText(total));
    std::visit([&](auto&& b) { put.body = std::move(b); }, std::move(body));
  }
  put.cancelled = cancelled_;
  HttpResponse response = api_.Send(std::move(put), site_, /*retry=*/false);
  std::minstd_rand random(std::random_device{}());
  const RetryPolicy& policy = api_.http().retry;
  for (int attempt = 1;; ++attempt) {
    if (std::optional<Progress> progress = ProgressOf(response)) {
      if (progress->object) finished_ = true;
      return *progress;
    }
    if (!IsRetryable(response) || attempt >= policy.max_attempts) {
      if (response.transport_error.empty() && (response.status == 404 || response.status == 410)) {
        finished_ = true;  // nothing left to delete
        throw ObjectStoreError(
            Kind::kOther, site_.Failed("the resumable upload session expired or was deleted (" +
                                       response.StatusText() + "); no object was written"));
      }
      ObjectStoreError error = api_.Error(response, site_);
      if (attempt == 1) throw error;
      throw ObjectStoreError(error.kind(), std::string(error.what()) + " (after " +
                                               std::to_string(attempt) + " tries)");
    }
    auto delay = RetryDelay(policy, attempt + 1, RetryAfter(response), random);
    if (api_.http().log) {
      std::string why =
          response.transport_error.empty() ? response.StatusText() : response.transport_error;
      api_.http().log("warning: upload " + site_.Uri() + ": " + why +
                      "; asking GCS where the upload stands in " + FormatSeconds(delay));
    }
    if (!SleepUnlessCancelled(delay, cancelled_)) {
      throw ObjectStoreError(Kind::kCancelled, site_.Failed("cancelled"));
    }
    response = QueryStatus(total ? total : total_);
  }
}

nlohmann::json ResumableUpload::SendAll(
    uint64_t from, uint64_t total, uint64_t chunk_size,
    const std::function<std::variant<std::string, FileRange>(uint64_t, uint64_t)>& read) {
  uint64_t offset = from;
  int stalls = 0;
  for (;;) {
    if (cancelled_ && cancelled_()) {
      throw ObjectStoreError(Kind::kCancelled, site_.Failed("cancelled"));
    }
    const uint64_t length = std::min(chunk_size, total - offset);
    const bool last = offset + length == total;
    Progress progress =
        PutChunk(offset, length ? read(offset, length) : std::variant<std::string, FileRange>{},
                 length, last ? std::optional<uint64_t>(total) : std::nullopt);
    if (progress.object) return *progress.object;
    if (progress.persisted > total) {
      throw ObjectStoreError(
          Kind::kOther, site_.Failed("GCS says it holds " + std::to_string(progress.persisted) +
                                     " bytes of a " + std::to_string(total) + "-byte object"));
    }
    if (progress.persisted <= offset && ++stalls >= api_.http().retry.max_attempts) {
      throw ObjectStoreError(Kind::kTransport,
                             site_.Failed("GCS kept no bytes after byte " + std::to_string(offset) +
                                          " in " + std::to_string(stalls) + " tries"));
    }
    if (progress.persisted > offset) stalls = 0;
    offset = progress.persisted;
  }
}

}  // namespace kiln::connectors::gcs_internal
