#include "kiln/connectors/http/curl_get.h"

#include <curl/curl.h>

#include <cctype>
#include <charconv>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string_view>

#include "kiln/connectors/http/url.h"

namespace kiln::connectors::http_internal {
namespace {

constexpr long kMaxRedirects = 10;
constexpr long kLowSpeedBytesPerSecond = 1024;

//! libcurl's process-wide setup, done once by the first transfer (a function-local static, so
//! thread-safe) and undone at exit.
class CurlGlobal {
 public:
  CurlGlobal() {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("curl_global_init failed");
    }
  }
  ~CurlGlobal() { curl_global_cleanup(); }
};

void EnsureCurlGlobal() {
  static const CurlGlobal global;
}

struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

//! State shared with the callbacks of one transfer.
struct Transfer {
  explicit Transfer(BodySink& s) : sink(s) {}
  BodySink& sink;
  ResponseHead head;
  bool began = false;  //!< sink.Begin() was called for the current response
  uint64_t body_bytes = 0;
  std::exception_ptr error;  //!< what a callback threw; curl aborts and we rethrow
};

bool IsSuccess(long status) {
  return status >= 200 && status < 300;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

bool NameIs(std::string_view name, std::string_view expected) {
  if (name.size() != expected.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(name[i])) != expected[i]) return false;
  }
  return true;
}

template <typename T>
std::optional<T> ParseNumber(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

//! "HTTP/1.1 404 Not Found" -> status 404, reason "Not Found".
void ParseStatusLine(std::string_view line, ResponseHead& head) {
  size_t space = line.find(' ');
  if (space == std::string_view::npos) return;
  std::string_view rest = Trim(line.substr(space + 1));
  std::string_view code = rest.substr(0, rest.find(' '));
  head.status = ParseNumber<long>(code).value_or(0);
  head.reason = std::string(Trim(rest.substr(code.size())));
}

void ParseHeaderLine(std::string_view line, ResponseHead& head) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return;
  std::string_view name = Trim(line.substr(0, colon));
  std::string_view value = Trim(line.substr(colon + 1));
  if (NameIs(name, "etag")) {
    head.etag = std::string(value);
  } else if (NameIs(name, "last-modified")) {
    head.last_modified = std::string(value);
  } else if (NameIs(name, "content-length")) {
    head.content_length = ParseNumber<uint64_t>(value);
  } else if (NameIs(name, "retry-after")) {
    if (auto seconds = ParseNumber<long>(value)) head.retry_after = std::chrono::seconds(*seconds);
  }
}

size_t OnHeader(char* buffer, size_t size, size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  size_t bytes = size * count;
  std::string_view line(buffer, bytes);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  try {
    if (line.starts_with("HTTP/")) {  // a new response: a redirect hop, 100 Continue, or final
      transfer.head = ResponseHead{};
      transfer.began = false;
      ParseStatusLine(line, transfer.head);
    } else if (transfer.began) {
      // trailers after a chunked body: ignored
    } else if (line.empty()) {
      if (IsSuccess(transfer.head.status)) {
        transfer.began = true;
        transfer.sink.Begin(transfer.head);
      }
    } else {
      ParseHeaderLine(line, transfer.head);
    }
  } catch (...) {
    transfer.error = std::current_exception();
    return 0;
  }
  return bytes;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  size_t bytes = size * count;
  if (!transfer.began) return bytes;  // the body of a 304, 4xx or 5xx answer: dropped
  try {
    transfer.sink.Write(data, bytes);
    transfer.body_bytes += bytes;
  } catch (...) {
    transfer.error = std::current_exception();
    return 0;  // makes curl abort with CURLE_WRITE_ERROR
  }
  return bytes;
}

//! One phrase for a failed transfer, naming the host, and whether a retry may help.
std::pair<std::string, bool> DescribeFailure(CURL* curl, CURLcode code, const char* errbuf,
                                             const GetRequest& request, const Transfer& transfer) {
  const char* effective_url = nullptr;
  curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &effective_url);
  std::string host = SplitUrl(effective_url ? effective_url : request.url).host_port;
  std::string detail = *errbuf ? errbuf : curl_easy_strerror(code);
  long os_errno = 0;
  curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
      return {"cannot resolve host " + host, true};
    case CURLE_COULDNT_CONNECT:
      return {"cannot connect to " + host + ": " +
                  (os_errno != 0 ? std::string(std::strerror(static_cast<int>(os_errno))) : detail),
              true};
    case CURLE_OPERATION_TIMEDOUT: {
      curl_off_t connect_us = 0;
      curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connect_us);
      if (connect_us == 0) {
        return {"timed out connecting to " + host + " after " +
                    std::to_string(request.connect_timeout.count()) + " s",
                true};
      }
      return {"transfer from " + host + " stalled (under 1 KiB/s for " +
                  std::to_string(request.low_speed_timeout.count()) + " s)",
              true};
    }
    case CURLE_PARTIAL_FILE:
      if (transfer.head.content_length) {
        return {"body shorter than Content-Length (got " + std::to_string(transfer.body_bytes) +
                    " of " + std::to_string(*transfer.head.content_length) + " bytes)",
                true};
      }
      return {"connection to " + host + " closed after " + std::to_string(transfer.body_bytes) +
                  " bytes of the body",
              true};
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return {"connection to " + host + " failed: " + detail, true};
    case CURLE_PEER_FAILED_VERIFICATION:
      return {"TLS certificate of " + host + " not trusted: " + detail, false};
    case CURLE_ABORTED_BY_CALLBACK:
      return {"cancelled", false};
    case CURLE_TOO_MANY_REDIRECTS:
      return {"more than " + std::to_string(kMaxRedirects) + " redirects", false};
    default:
      return {detail + " (" + host + ")", false};
  }
}

int OnProgress(void* data, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* request = static_cast<const GetRequest*>(data);
  return request->cancelled && request->cancelled() ? 1 : 0;
}

void SetOptions(CURL* curl, const GetRequest& request, curl_slist* headers, Transfer& transfer,
                char* errbuf) {
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // required with threads
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, kMaxRedirects);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.connect_timeout.count() * 1000));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, kLowSpeedBytesPerSecond);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(request.low_speed_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "kiln");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  if (request.cancelled) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &OnProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &request);
  }
}

}  // namespace

GetOutcome PerformGet(const GetRequest& request, BodySink& sink) {
  EnsureCurlGlobal();
  std::unique_ptr<CURL, EasyDeleter> curl(curl_easy_init());
  if (!curl) throw std::runtime_error("curl_easy_init failed");
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&](const std::string& line) {
    curl_slist* list = curl_slist_append(headers.get(), line.c_str());
    if (!list) throw std::bad_alloc();
    headers.release();
    headers.reset(list);
  };
  if (!request.if_none_match.empty()) add_header("If-None-Match: " + request.if_none_match);
  if (!request.if_modified_since.empty()) {
    add_header("If-Modified-Since: " + request.if_modified_since);
  }

  Transfer transfer(sink);
  char errbuf[CURL_ERROR_SIZE] = {};
  SetOptions(curl.get(), request, headers.get(), transfer, errbuf);
  CURLcode code = curl_easy_perform(curl.get());
  if (transfer.error) std::rethrow_exception(transfer.error);

  GetOutcome outcome;
  outcome.head = transfer.head;
  outcome.body_bytes = transfer.body_bytes;
  if (code != CURLE_OK) {
    std::tie(outcome.transport_error, outcome.transport_retryable) =
        DescribeFailure(curl.get(), code, errbuf, request, transfer);
  }
  return outcome;
}

std::string ReasonPhrase(long status) {
  switch (status) {
    case 200:
      return "OK";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 410:
      return "Gone";
    case 416:
      return "Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

}  // namespace kiln::connectors::http_internal
