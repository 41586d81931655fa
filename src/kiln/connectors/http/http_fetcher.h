// connectors/http/http_fetcher.h: downloads http(s) URLs to local files for DuckDB's readers.
// DuckDB's httpfs extension is not available, so when a SQL block reads
// `read_csv('https://.../yellow_tripdata_2021-01.csv.gz')` Kiln fetches the URL with libcurl into a
// download cache and rewrites the SQL to read the local file. Usage:
//
//   HttpFetcher fetcher({.cache_dir = project / ".kiln/http", .log = block_log});
//   FetchResult r = fetcher.Fetch(url);   // r.local_path keeps the URL's file name
//
// Cache layout: `<cache_dir>/<sha256(url) hex>/` holds the body under the URL's file name (bytes
// exactly as served, never decompressed), `meta.json` {url, etag, last_modified, bytes,
// fetched_at} and a `.lock` file. A body appears under its final name only when it is complete
// and verified (Content-Length matched; gzip bodies inflate to the end of their last member).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "kiln/connectors/error.h"

namespace kiln::connectors {

//! A URL could not be fetched. what() is one line: "GET <url> failed: <reason>", e.g.
//! "GET https://h/x.csv failed: HTTP 404 Not Found" or "...: truncated gzip (...)".
//! Credentials in the URL (user:password@) are never part of the message.
class HttpError : public ConnectorError {
 public:
  //! `url` is the URL as requested; `reason` completes the sentence; `status` is the final HTTP
  //! status when the server answered with one (>= 400), else 0.
  HttpError(const std::string& url, const std::string& reason, long status = 0);

  //! The URL as requested (credentials included, so keep it out of logs; what() is redacted).
  const std::string& url() const { return url_; }
  //! The HTTP status that made the fetch fail, or 0 for transport, cache and body errors.
  long status() const { return status_; }

 private:
  std::string url_;
  long status_;
};

//! How a fetcher downloads, retries and reports.
struct FetchOptions {
  //! Root of the download cache; created on demand. REQUIRES: not empty.
  std::filesystem::path cache_dir;
  //! Total tries per Fetch (>= 1). Connection errors (DNS, refused, reset, TLS handshake),
  //! timeouts, short bodies, HTTP 408, 429 and 5xx are retried; other 4xx, untrusted TLS
  //! certificates and truncated or corrupt gzip bodies are not. Each try starts from byte 0.
  int max_attempts = 4;
  //! Delay before the second try; doubles for each later one (capped at 30 s), with jitter in
  //! [50%, 100%]. A Retry-After of a 429/503 answer (delta seconds, <= 60 s) lengthens it.
  std::chrono::milliseconds initial_backoff{500};
  //! Limit on establishing the TCP + TLS connection, per try.
  std::chrono::seconds connect_timeout{15};
  //! A try is abandoned (and retried) when fewer than 1 KiB/s arrive for this long.
  std::chrono::seconds low_speed_timeout{60};
  //! Draws a progress bar on stderr while downloading, only when stderr is a terminal. When it is
  //! not drawn, one line is logged when a download starts and one when it ends.
  bool progress_bar = true;
  //! Receives info and warning lines (warnings start with "warning: ") for the block log. May be
  //! empty. Called on the thread that called Fetch, so it must be thread-safe when one fetcher
  //! serves several threads.
  std::function<void(const std::string&)> log;
  //! Polled during transfers and between tries; when it returns true Fetch stops promptly with
  //! HttpError "...: cancelled" (a timeout or a cancelled run). May be empty.
  std::function<bool()> cancelled;
};

//! Where a fetched URL is on disk.
struct FetchResult {
  //! The body file inside the cache (or the local path of a file:// URL). It keeps the URL's file
  //! name, e.g. ".../yellow_tripdata_2021-01.csv.gz". A later Fetch of the same URL may replace
  //! it with a newer version (by rename, so an open handle keeps reading the old one).
  std::filesystem::path local_path;
  //! Size of the file in bytes.
  uint64_t bytes = 0;
  //! True when no body was downloaded by this call: the server answered 304 Not Modified, another
  //! thread or process had just fetched it, or the server was unreachable and the cached copy was
  //! used (with a warning). False for file:// URLs.
  bool from_cache = false;
};

//! Fetches URLs into a download cache. Holds no mutable state: one instance may be shared by
//! worker threads, and several instances or processes may share one cache_dir (fetches of one URL
//! are serialized by an flock on the entry, others run in parallel).
class HttpFetcher {
 public:
  //! Throws std::invalid_argument when options.cache_dir is empty or max_attempts < 1.
  explicit HttpFetcher(FetchOptions options);

  //! Downloads `url` (http, https or file) into the cache (or revalidates the cached copy) and
  //! returns the local file. Redirects are followed (up to 10, http/https only); TLS peers are
  //! verified. A cached copy is revalidated with If-None-Match / If-Modified-Since: 304 keeps it,
  //! 200 replaces it. When every try fails with a retryable error and a cached copy exists, that
  //! copy is returned with a warning. file:// URLs map to the local path (no copy).
  //! Throws HttpError: HTTP status >= 400, unreachable host (DNS, refused, timeout) without a
  //! cached copy, body shorter than Content-Length, truncated or corrupt gzip (URL path ending
  //! in ".gz" or body starting with the gzip magic), missing file:// path, unsupported scheme,
  //! cache folder not writable. After a throw no partial body is left in the cache.
  //! Safe to call concurrently.
  FetchResult Fetch(const std::string& url) const;

 private:
  FetchOptions options_;
};

}  // namespace kiln::connectors
