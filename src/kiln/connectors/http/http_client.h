// connectors/http/http_client.h: one HTTP request of any method through libcurl, the one HTTP
// client wrapper of Kiln (the downloader, GCS, S3 and BigQuery all go through it). Usage:
//
//   HttpRequest request("PUT", session_uri);
//   request.headers.Add("Content-Range", "bytes 0-262143/*");
//   request.body = FileRange{path, 0, 262144};
//   HttpResponse response = SendHttp(request);
//   if (!response.transport_error.empty()) ...;        // no answer (or a cut-off one)
//   std::optional<std::string> range = response.headers.Get("range");
//
// A request's body comes from memory or from a range of a file (read as it is sent); a 2xx
// response's body goes to memory, to a file, or to a sink; the body of any other status always
// goes to memory (for error messages). Retrying is the caller's: see retry.h.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace kiln::connectors {

//! Header fields in the order given or received; names compare case-insensitively.
class HttpHeaders {
 public:
  //! Appends `name: value` (an existing field of that name stays; see Set).
  void Add(std::string name, std::string value);
  //! Replaces every field named `name` by one `name: value`.
  void Set(std::string_view name, std::string value);
  //! The value of the first field named `name` (any case), or nullopt.
  std::optional<std::string> Get(std::string_view name) const;
  //! Whether a field named `name` (any case) is present.
  bool Has(std::string_view name) const { return Get(name).has_value(); }
  //! Every field, names as written.
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

//! A request body read from a file as it is sent: `length` bytes from byte `offset`.
struct FileRange {
  std::filesystem::path path;
  uint64_t offset = 0;  //!< bytes from the start of the file
  uint64_t length = 0;  //!< bytes to send (the file must hold them)
};

struct HttpResponse;

//! Receives the body of a 2xx response as it arrives. Methods may throw to abort the transfer;
//! the exception is rethrown by SendHttp.
class HttpBodySink {
 public:
  virtual ~HttpBodySink() = default;
  //! The status and headers of the 2xx response are complete (its body is empty); called once
  //! per 2xx response, before any Write.
  virtual void Begin(const HttpResponse& head) = 0;
  //! The next `size` bytes of the body.
  virtual void Write(const char* data, size_t size) = 0;
};

//! One request.
struct HttpRequest {
  HttpRequest() = default;
  //! A request of `method` to `url` with the defaults below.
  HttpRequest(std::string method_, std::string url_)
      : method(std::move(method_)), url(std::move(url_)) {}

  std::string method = "GET";  //!< GET, HEAD, POST, PUT, PATCH, DELETE, ...
  std::string url;             //!< http:// or https://, already percent-encoded
  //! Sent as given. A request with a body and no Content-Type sends none (curl's form default is
  //! suppressed); "Expect: 100-continue" is never sent. Content-Length is set from the body.
  HttpHeaders headers;
  //! No body, bytes from memory, or a range of a file. POST/PUT/PATCH without a body send
  //! "Content-Length: 0".
  std::variant<std::monostate, std::string, FileRange> body;
  //! When set, the body of a 2xx response is written to this file (created or truncated when the
  //! response begins, so a retried request starts it over). HttpResponse::body stays empty.
  std::optional<std::filesystem::path> response_file;
  //! When set (and response_file is not), the body of a 2xx response streams into it. Not owned.
  HttpBodySink* body_sink = nullptr;
  //! Follows up to 10 redirects (http/https only). Off by default: a 308 of a GCS resumable
  //! upload is an answer, not a redirect.
  bool follow_redirects = false;
  std::chrono::seconds connect_timeout{15};    //!< TCP + TLS handshake
  std::chrono::seconds low_speed_timeout{60};  //!< abort when < 1 KiB/s for this long
  std::chrono::seconds total_timeout{0};       //!< whole request; 0 = no limit
  //! Polled several times a second while the transfer runs; the transfer stops with
  //! transport_error "cancelled" when it returns true. May be empty.
  std::function<bool()> cancelled;
};

//! How a request ended: the last response received (after redirects), or a transport error.
struct HttpResponse {
  long status = 0;          //!< 0 when no response arrived
  std::string reason;       //!< "Not Found"; empty over HTTP/2
  HttpHeaders headers;      //!< every header field of that response
  std::string body;         //!< in memory: a 2xx body without response_file/body_sink, or any other
                            //!< status's body (at most 1 MiB kept)
  uint64_t body_bytes = 0;  //!< body bytes received (to memory, file or sink)
  //! Empty when the exchange completed at the transport level (whatever the status); else one
  //! phrase naming the host, e.g. "cannot connect to 127.0.0.1:4443: Connection refused".
  std::string transport_error;
  //! Whether trying again may help (connection, DNS, timeout, cut-off body), when
  //! transport_error is set.
  bool retryable = false;

  //! A complete exchange whose status is 2xx.
  bool ok() const { return transport_error.empty() && status >= 200 && status < 300; }
  //! "HTTP 404 Not Found" (the reason phrase from ReasonPhrase when the server sent none).
  std::string StatusText() const;
};

//! Performs `request` once. Verifies TLS peers and host names, sends no Accept-Encoding (bytes
//! arrive as stored). Thread-safe: each call uses its own curl handle. Throws std::system_error
//! when a FileRange cannot be read (or holds fewer bytes than `length`) or response_file cannot
//! be written, and rethrows what `body_sink` threw; every network problem is a transport_error.
HttpResponse SendHttp(const HttpRequest& request);

//! The standard reason phrase of `status` ("Not Found"), or "" for an unknown one.
std::string ReasonPhrase(long status);

//! Percent-encodes `text` for a URL path segment or a query value: everything but RFC 3986's
//! unreserved characters (A-Z a-z 0-9 - . _ ~) becomes %XX (upper-case hex), '/' included.
std::string PercentEncode(std::string_view text);

}  // namespace kiln::connectors
