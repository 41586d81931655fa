#include "kiln/connectors/http/http_fetcher.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <random>
#include <stdexcept>
#include <system_error>

#include "kiln/connectors/http/curl_get.h"
#include "kiln/connectors/http/download_cache.h"
#include "kiln/connectors/http/download_file.h"
#include "kiln/connectors/http/progress.h"
#include "kiln/connectors/http/retry.h"
#include "kiln/connectors/http/url.h"

namespace kiln::connectors {
namespace fs = std::filesystem;
using namespace http_internal;

HttpError::HttpError(const std::string& url, const std::string& reason, long status)
    : ConnectorError("GET " + RedactUrl(url) + " failed: " + reason), url_(url), status_(status) {}

namespace {

//! Why one try failed.
struct TryFailure {
  std::string reason;  //!< completes "GET <url> failed: ..."
  long status = 0;     //!< HTTP status when the server answered >= 400
  bool retryable = false;
  std::optional<std::chrono::seconds> retry_after;
};

//! How one try ended: a verified body ready to publish, "not modified", or a failure.
struct TryResult {
  std::unique_ptr<DownloadFile> body;
  ResponseHead head;
  bool not_modified = false;
  std::optional<TryFailure> failure;
};

TryResult Failed(std::string reason, bool retryable, long status = 0,
                 std::optional<std::chrono::seconds> retry_after = std::nullopt) {
  TryResult result;
  result.failure = TryFailure{std::move(reason), status, retryable, retry_after};
  return result;
}

void Log(const FetchOptions& options, const std::string& line) {
  if (options.log) options.log(line);
}

//! The terminal to draw the progress bar on, or nullptr to log lines instead.
std::FILE* BarOutput(const FetchOptions& options) {
  return options.progress_bar && isatty(STDERR_FILENO) ? stderr : nullptr;
}

//! Turns a status that is not 2xx into a failure; 408, 429 and 5xx may pass with time.
TryResult StatusFailure(const ResponseHead& head) {
  std::string reason = head.reason.empty() ? ReasonPhrase(head.status) : head.reason;
  std::string text = "HTTP " + std::to_string(head.status) + (reason.empty() ? "" : " " + reason);
  bool retryable = IsRetryableStatus(head.status);
  return Failed(text, retryable, head.status >= 400 ? head.status : 0, head.retry_after);
}

//! One GET of entry.url(), conditional when `cached` is set. REQUIRES: the EntryLock is held.
TryResult TryOnce(const FetchOptions& options, const CacheEntry& entry,
                  const std::optional<CacheMeta>& cached) {
  GetRequest request;
  request.url = entry.url();
  request.connect_timeout = options.connect_timeout;
  request.low_speed_timeout = options.low_speed_timeout;
  request.cancelled = options.cancelled;
  if (cached) {
    request.if_none_match = cached->etag;
    request.if_modified_since = cached->last_modified;
  }
  TryResult result;
  GetOutcome outcome;
  try {
    auto progress = std::make_unique<DownloadProgress>(RedactUrl(entry.url()),
                                                       entry.body_path().filename().string(),
                                                       BarOutput(options), options.log);
    result.body =
        std::make_unique<DownloadFile>(entry, PathSaysGzip(entry.url()), std::move(progress));
    outcome = PerformGet(request, *result.body);
  } catch (const BodyRejected& e) {
    return Failed(e.what(), false);
  } catch (const std::system_error& e) {
    return Failed(std::string("cannot store the download: ") + e.what(), false);
  }
  if (!outcome.transport_error.empty()) {
    return Failed(outcome.transport_error, outcome.transport_retryable);
  }
  result.head = outcome.head;
  if (outcome.head.status == 304 && cached) {
    result.body.reset();
    result.not_modified = true;
    return result;
  }
  if (outcome.head.status < 200 || outcome.head.status >= 300) return StatusFailure(outcome.head);
  try {
    if (auto problem = result.body->Verify()) return Failed(problem->reason, problem->retryable);
  } catch (const std::system_error& e) {
    return Failed(std::string("cannot store the download: ") + e.what(), false);
  }
  return result;
}

//! Tries up to options.max_attempts times, sleeping between retryable failures. Returns the
//! first success or the last failure (its reason mentions the number of tries when > 1).
TryResult TryWithRetries(const FetchOptions& options, const CacheEntry& entry,
                         const std::optional<CacheMeta>& cached) {
  std::minstd_rand random(std::random_device{}());
  const RetryPolicy policy{.max_attempts = options.max_attempts,
                           .initial_backoff = options.initial_backoff};
  for (int attempt = 1;; ++attempt) {
    TryResult result = TryOnce(options, entry, cached);
    if (!result.failure) return result;
    if (!result.failure->retryable || attempt >= options.max_attempts) {
      if (attempt > 1) result.failure->reason += " (after " + std::to_string(attempt) + " tries)";
      return result;
    }
    auto delay = RetryDelay(policy, attempt + 1, result.failure->retry_after, random);
    Log(options, "warning: GET " + RedactUrl(entry.url()) + ": " + result.failure->reason +
                     "; retrying in " + FormatSeconds(delay) + " (try " +
                     std::to_string(attempt + 1) + " of " + std::to_string(options.max_attempts) +
                     ")");
    if (!SleepUnlessCancelled(delay, options.cancelled)) return Failed("cancelled", false);
  }
}

FetchResult FetchLocalFile(const std::string& url) {
  fs::path path = FileUrlPath(url);
  if (path.empty()) throw HttpError(url, "file URLs must name a local path (file:///...)");
  std::error_code ec;
  uintmax_t size = fs::file_size(path, ec);
  if (ec) throw HttpError(url, "cannot read " + path.string() + ": " + ec.message());
  return FetchResult{path, size, false};
}

FetchResult FromCache(const CacheEntry& entry, const CacheMeta& meta) {
  return FetchResult{entry.body_path(), meta.bytes, true};
}

//! Records a fresh body (already published) or a revalidation in meta.json.
void StoreMeta(const CacheEntry& entry, const ResponseHead& head, uint64_t bytes,
               std::optional<CacheMeta> previous) {
  CacheMeta meta = previous.value_or(CacheMeta{});
  meta.url = entry.url();
  if (!previous || !head.etag.empty()) meta.etag = head.etag;
  if (!previous || !head.last_modified.empty()) meta.last_modified = head.last_modified;
  meta.bytes = bytes;
  meta.fetched_at = UtcNowIso8601();
  entry.Store(meta);
}

}  // namespace

HttpFetcher::HttpFetcher(FetchOptions options) : options_(std::move(options)) {
  if (options_.cache_dir.empty()) throw std::invalid_argument("FetchOptions.cache_dir is empty");
  if (options_.max_attempts < 1) throw std::invalid_argument("FetchOptions.max_attempts < 1");
}

FetchResult HttpFetcher::Fetch(const std::string& url) const {
  std::string scheme = SplitUrl(url).scheme;
  if (scheme == "file") return FetchLocalFile(url);
  if (scheme != "http" && scheme != "https") {
    throw HttpError(url, "unsupported URL scheme (expected http, https or file)");
  }
  CacheEntry entry(options_.cache_dir, url);
  std::optional<MetaStamp> stamp_before_wait = entry.Stamp();
  std::optional<EntryLock> lock;
  try {
    lock.emplace(entry);
    entry.RemoveStaleTempFiles();
    std::optional<CacheMeta> cached = entry.Load();
    if (cached && entry.Stamp() != stamp_before_wait) {
      return FromCache(entry, *cached);  // another thread or process fetched it while we waited
    }

    TryResult result = TryWithRetries(options_, entry, cached);
    if (result.not_modified) {
      StoreMeta(entry, result.head, cached->bytes, cached);
      Log(options_, "using cached " + entry.body_path().string() + " (not modified)");
      return FromCache(entry, *cached);
    }
    if (!result.failure) {
      result.body->Publish();
      StoreMeta(entry, result.head, result.body->bytes(), std::nullopt);
      return FetchResult{entry.body_path(), result.body->bytes(), false};
    }
    if (result.failure->retryable && cached) {
      Log(options_, "warning: GET " + RedactUrl(url) + " failed: " + result.failure->reason +
                        "; using the cached copy fetched at " + cached->fetched_at);
      return FromCache(entry, *cached);
    }
    if (!cached) lock->RemoveEntry();
    throw HttpError(url, result.failure->reason, result.failure->status);
  } catch (const std::system_error& e) {
    throw HttpError(url, std::string("download cache: ") + e.what());
  }
}

}  // namespace kiln::connectors
