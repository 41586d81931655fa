#include "kiln/connectors/http/curl_get.h"

#include <charconv>
#include <string_view>

#include "kiln/connectors/http/http_client.h"
#include "kiln/connectors/http/retry.h"

namespace kiln::connectors::http_internal {
namespace {

template <typename T>
std::optional<T> ParseNumber(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  T value{};
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return value;
}

//! The header fields the downloader uses, of `response`.
ResponseHead HeadOf(const HttpResponse& response) {
  ResponseHead head;
  head.status = response.status;
  head.reason = response.reason;
  head.etag = response.headers.Get("etag").value_or("");
  head.last_modified = response.headers.Get("last-modified").value_or("");
  head.content_length = ParseNumber<uint64_t>(response.headers.Get("content-length"));
  head.retry_after = RetryAfter(response);
  return head;
}

//! Hands a 2xx body to the downloader's sink.
class SinkAdapter : public HttpBodySink {
 public:
  explicit SinkAdapter(BodySink& sink) : sink_(sink) {}
  void Begin(const HttpResponse& head) override { sink_.Begin(HeadOf(head)); }
  void Write(const char* data, size_t size) override { sink_.Write(data, size); }

 private:
  BodySink& sink_;
};

}  // namespace

GetOutcome PerformGet(const GetRequest& request, BodySink& sink) {
  HttpRequest http;
  http.url = request.url;
  if (!request.if_none_match.empty()) http.headers.Add("If-None-Match", request.if_none_match);
  if (!request.if_modified_since.empty()) {
    http.headers.Add("If-Modified-Since", request.if_modified_since);
  }
  SinkAdapter adapter(sink);
  http.body_sink = &adapter;
  http.follow_redirects = true;
  http.connect_timeout = request.connect_timeout;
  http.low_speed_timeout = request.low_speed_timeout;
  http.cancelled = request.cancelled;
  HttpResponse response = SendHttp(http);

  GetOutcome outcome;
  outcome.head = HeadOf(response);
  outcome.body_bytes = response.status >= 200 && response.status < 300 ? response.body_bytes : 0;
  outcome.transport_error = std::move(response.transport_error);
  outcome.transport_retryable = response.retryable;
  return outcome;
}

}  // namespace kiln::connectors::http_internal
