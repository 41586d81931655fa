// connectors/http/retry.h: when and how long to wait before trying an HTTP request again, shared
// by the downloader and the cloud clients (GCS, S3, BigQuery) so every one backs off alike.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <random>
#include <string>

#include "kiln/connectors/http/http_client.h"

namespace kiln::connectors {

//! How often and how patiently a request is retried.
struct RetryPolicy {
  int max_attempts = 4;                            //!< total tries (>= 1)
  std::chrono::milliseconds initial_backoff{500};  //!< before the second try; doubles
  std::chrono::milliseconds max_backoff{30'000};   //!< cap of one pause
  std::chrono::seconds max_retry_after{60};        //!< cap of a server's Retry-After
};

//! How a client (GCS, S3, BigQuery, the token exchange) sends its requests: limits applied to
//! each HttpRequest, the retry policy, and where retry warnings go.
struct HttpOptions {
  std::chrono::seconds connect_timeout{15};    //!< HttpRequest::connect_timeout
  std::chrono::seconds low_speed_timeout{60};  //!< HttpRequest::low_speed_timeout
  RetryPolicy retry;                           //!< 4 tries, 0.5 s doubling
  //! Receives "warning: ..." lines about retries and failed aborts; may be empty. Must be
  //! thread-safe when the client serves several threads.
  std::function<void(const std::string&)> log;
};

//! Whether a status may pass with time: 408, 429 and 5xx.
bool IsRetryableStatus(long status);

//! Whether `response` is worth another try: a retryable transport error or status.
bool IsRetryable(const HttpResponse& response);

//! The delta-seconds Retry-After of `response`, when it sent one.
std::optional<std::chrono::seconds> RetryAfter(const HttpResponse& response);

//! The pause before try number `next_try` (>= 2): initial * 2^(next_try - 2), capped at
//! max_backoff, with jitter in [50%, 100%]; at least `retry_after` (capped at max_retry_after).
std::chrono::milliseconds RetryDelay(const RetryPolicy& policy, int next_try,
                                     std::optional<std::chrono::seconds> retry_after,
                                     std::minstd_rand& random);

//! Sleeps `delay` in steps of at most 50 ms. Returns false (early) when `cancelled` (may be
//! empty) returns true.
bool SleepUnlessCancelled(std::chrono::milliseconds delay, const std::function<bool()>& cancelled);

//! Sends `request` until it gets an answer that is not retryable, at most policy.max_attempts
//! times, pausing per RetryDelay; `log` (may be empty) gets one "warning: <METHOD> <url>: <why>;
//! retrying in 1.0 s (try 2 of 4)" line per retry. Returns the last response (cancellation
//! during a pause: transport_error "cancelled"). Only for requests that may be repeated as they
//! are (idempotent, or a whole upload that is atomic). Exceptions of SendHttp propagate.
HttpResponse SendWithRetries(const HttpRequest& request, const RetryPolicy& policy,
                             const std::function<void(const std::string&)>& log = {});

//! "1.5 s": a pause for log lines.
std::string FormatSeconds(std::chrono::duration<double> duration);

}  // namespace kiln::connectors
