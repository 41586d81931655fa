// connectors/http/curl_get.h: one HTTP GET for the downloader, body streamed to a sink
// (internal to http/; a thin layer over http_client.h). Retrying, caching and error wording live
// in http_fetcher.cc.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace kiln::connectors::http_internal {

//! What a GET asks for.
struct GetRequest {
  std::string url;
  std::string if_none_match;      //!< sent as If-None-Match when not empty
  std::string if_modified_since;  //!< sent as If-Modified-Since when not empty
  std::chrono::seconds connect_timeout{15};
  std::chrono::seconds low_speed_timeout{60};  //!< abort when < 1 KiB/s for this long
  //! Polled while the transfer runs (libcurl's progress callback, several times a second); the
  //! transfer stops with transport_error "cancelled" when it returns true. May be empty.
  std::function<bool()> cancelled;
};

//! Status line and the headers we use, of the last response received (after redirects).
struct ResponseHead {
  long status = 0;                                  //!< 0 when no response arrived
  std::string reason;                               //!< "Not Found"; empty over HTTP/2
  std::string etag;                                 //!< empty when absent
  std::string last_modified;                        //!< empty when absent
  std::optional<uint64_t> content_length;           //!< body bytes announced
  std::optional<std::chrono::seconds> retry_after;  //!< delta-seconds form only
};

//! Receives the body of the final 2xx response. Methods may throw to abort the transfer; the
//! exception is rethrown by PerformGet.
class BodySink {
 public:
  virtual ~BodySink() = default;
  //! The headers of the final 2xx response are complete; called once, before any Write.
  virtual void Begin(const ResponseHead& head) = 0;
  //! The next `size` bytes of the body.
  virtual void Write(const char* data, size_t size) = 0;
};

//! How a GET ended.
struct GetOutcome {
  ResponseHead head;
  uint64_t body_bytes = 0;  //!< bytes handed to the sink
  //! Empty when the transfer completed at the transport level (whatever the status); else one
  //! phrase naming the host, e.g. "cannot connect to 127.0.0.1:8080: Connection refused".
  std::string transport_error;
  //! Whether trying again may help (connection, DNS, timeout, cut-off body), when
  //! transport_error is set.
  bool transport_retryable = false;
};

//! Performs one GET of request.url through SendHttp: follows up to 10 redirects (http/https
//! only), verifies TLS peers and host names, sends no Accept-Encoding (bytes arrive as stored),
//! and streams the body of a 2xx response into `sink` (bodies of other statuses are dropped).
//! Thread-safe. Rethrows whatever `sink` threw.
GetOutcome PerformGet(const GetRequest& request, BodySink& sink);

}  // namespace kiln::connectors::http_internal
