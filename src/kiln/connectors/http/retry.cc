#include "kiln/connectors/http/retry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>

#include "kiln/connectors/http/url.h"

namespace kiln::connectors {

bool IsRetryableStatus(long status) {
  return status == 408 || status == 429 || status >= 500;
}

bool IsRetryable(const HttpResponse& response) {
  if (!response.transport_error.empty()) return response.retryable;
  return IsRetryableStatus(response.status);
}

std::optional<std::chrono::seconds> RetryAfter(const HttpResponse& response) {
  std::optional<std::string> value = response.headers.Get("retry-after");
  if (!value || value->empty() || value->size() > 9) return std::nullopt;
  long seconds = 0;
  for (char c : *value) {
    if (c < '0' || c > '9') return std::nullopt;  // an HTTP date: not used
    seconds = seconds * 10 + (c - '0');
  }
  return std::chrono::seconds(seconds);
}

std::chrono::milliseconds RetryDelay(const RetryPolicy& policy, int next_try,
                                     std::optional<std::chrono::seconds> retry_after,
                                     std::minstd_rand& random) {
  double base = static_cast<double>(policy.initial_backoff.count()) *
                std::pow(2.0, std::clamp(next_try - 2, 0, 20));
  base = std::min(base, static_cast<double>(policy.max_backoff.count()));
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  auto delay = std::chrono::milliseconds(static_cast<int64_t>(base * jitter(random)));
  if (retry_after) {
    delay =
        std::max<std::chrono::milliseconds>(delay, std::min(*retry_after, policy.max_retry_after));
  }
  return delay;
}

bool SleepUnlessCancelled(std::chrono::milliseconds delay, const std::function<bool()>& cancelled) {
  const auto wake = std::chrono::steady_clock::now() + delay;
  while (std::chrono::steady_clock::now() < wake) {
    if (cancelled && cancelled()) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(50), wake - std::chrono::steady_clock::now()));
  }
  return !(cancelled && cancelled());
}

std::string FormatSeconds(std::chrono::duration<double> duration) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f s", duration.count());
  return buffer;
}

HttpResponse SendWithRetries(const HttpRequest& request, const RetryPolicy& policy,
                             const std::function<void(const std::string&)>& log) {
  std::minstd_rand random(std::random_device{}());
  for (int attempt = 1;; ++attempt) {
    HttpResponse response = SendHttp(request);
    if (!IsRetryable(response) || attempt >= policy.max_attempts) return response;
    auto delay = RetryDelay(policy, attempt + 1, RetryAfter(response), random);
    if (log) {
      std::string why =
          response.transport_error.empty() ? response.StatusText() : response.transport_error;
      std::string url = http_internal::RedactUrl(request.url);
      url = url.substr(0, url.find('?'));  // session ids and tokens stay out of logs
      log("warning: " + request.method + " " + url + ": " + why + "; retrying in " +
          FormatSeconds(delay) + " (try " + std::to_string(attempt + 1) + " of " +
          std::to_string(policy.max_attempts) + ")");
    }
    if (!SleepUnlessCancelled(delay, request.cancelled)) {
      HttpResponse cancelled;
      cancelled.transport_error = "cancelled";
      return cancelled;
    }
  }
}

}  // namespace kiln::connectors
