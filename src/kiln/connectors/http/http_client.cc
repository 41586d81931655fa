#include "kiln/connectors/http/http_client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <system_error>

#include "kiln/connectors/http/url.h"

namespace kiln::connectors {
namespace {

using http_internal::SplitUrl;

constexpr long kMaxRedirects = 10;
constexpr long kLowSpeedBytesPerSecond = 1024;
constexpr size_t kMaxErrorBody = 1 << 20;

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

//! An open file descriptor, closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
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

//! State shared with the callbacks of one transfer.
struct Transfer {
  const HttpRequest& request;
  HttpResponse response;
  bool in_body_of_2xx = false;  //!< headers of a 2xx response ended: body goes to file/sink
  bool headers_done = false;    //!< the current response's header block ended
  Fd response_fd;               //!< response_file, while a 2xx body is written
  Fd body_fd;                   //!< the FileRange being sent
  uint64_t body_sent = 0;       //!< bytes of the request body handed to curl
  std::exception_ptr error;     //!< what a callback threw; curl aborts and we rethrow
};

//! "HTTP/1.1 404 Not Found" -> status 404, reason "Not Found".
void ParseStatusLine(std::string_view line, HttpResponse& response) {
  size_t space = line.find(' ');
  if (space == std::string_view::npos) return;
  std::string_view rest = Trim(line.substr(space + 1));
  std::string_view code = rest.substr(0, rest.find(' '));
  response.status = 0;
  for (char c : code) {
    if (c < '0' || c > '9') return;
    response.status = response.status * 10 + (c - '0');
  }
  response.reason = std::string(Trim(rest.substr(code.size())));
}

//! The headers of a 2xx response are complete: opens the response file or tells the sink.
void BeginBody(Transfer& transfer) {
  transfer.in_body_of_2xx = true;
  const HttpRequest& request = transfer.request;
  if (request.response_file) {
    int fd = ::open(request.response_file->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      throw std::system_error(errno, std::generic_category(),
                              "cannot write " + request.response_file->string());
    }
    transfer.response_fd.Reset(fd);
  } else if (request.body_sink) {
    request.body_sink->Begin(transfer.response);
  }
}

size_t OnHeader(char* buffer, size_t size, size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  size_t bytes = size * count;
  std::string_view line(buffer, bytes);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  try {
    HttpResponse& response = transfer.response;
    if (line.starts_with("HTTP/")) {  // a new response: a redirect hop, 100 Continue, or final
      response = HttpResponse{};
      transfer.in_body_of_2xx = false;
      transfer.headers_done = false;
      ParseStatusLine(line, response);
    } else if (transfer.headers_done) {
      // trailers after a chunked body: ignored
    } else if (line.empty()) {
      transfer.headers_done = true;
      if (response.status >= 200 && response.status < 300) BeginBody(transfer);
    } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
      response.headers.Add(std::string(Trim(line.substr(0, colon))),
                           std::string(Trim(line.substr(colon + 1))));
    }
  } catch (...) {
    transfer.error = std::current_exception();
    return 0;
  }
  return bytes;
}

void WriteAll(int fd, const char* data, size_t size, const std::filesystem::path& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "cannot write " + path.string());
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  size_t bytes = size * count;
  HttpResponse& response = transfer.response;
  try {
    if (transfer.in_body_of_2xx && transfer.request.response_file) {
      WriteAll(transfer.response_fd.get(), data, bytes, *transfer.request.response_file);
    } else if (transfer.in_body_of_2xx && transfer.request.body_sink) {
      transfer.request.body_sink->Write(data, bytes);
    } else if (transfer.in_body_of_2xx || response.body.size() < kMaxErrorBody) {
      response.body.append(data, bytes);
    }
    response.body_bytes += bytes;
  } catch (...) {
    transfer.error = std::current_exception();
    return 0;  // makes curl abort with CURLE_WRITE_ERROR
  }
  return bytes;
}

size_t OnRead(char* buffer, size_t size, size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  size_t room = size * count;
  const auto& body = transfer.request.body;
  if (std::holds_alternative<std::monostate>(body)) return 0;
  if (const auto* text = std::get_if<std::string>(&body)) {
    size_t n = std::min(room, text->size() - transfer.body_sent);
    std::memcpy(buffer, text->data() + transfer.body_sent, n);
    transfer.body_sent += n;
    return n;
  }
  const auto& range = std::get<FileRange>(body);
  uint64_t left = range.length - transfer.body_sent;
  size_t want = static_cast<size_t>(std::min<uint64_t>(room, left));
  if (want == 0) return 0;
  try {
    ssize_t n;
    do {
      n = ::pread(transfer.body_fd.get(), buffer, want,
                  static_cast<off_t>(range.offset + transfer.body_sent));
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      throw std::system_error(errno, std::generic_category(), "cannot read " + range.path.string());
    }
    if (n == 0) {
      throw std::system_error(std::make_error_code(std::errc::io_error),
                              range.path.string() + " ended before byte " +
                                  std::to_string(range.offset + range.length));
    }
    transfer.body_sent += static_cast<uint64_t>(n);
    return static_cast<size_t>(n);
  } catch (...) {
    transfer.error = std::current_exception();
    return CURL_READFUNC_ABORT;
  }
}

int OnProgress(void* data, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* request = static_cast<const HttpRequest*>(data);
  return request->cancelled && request->cancelled() ? 1 : 0;
}

//! One phrase for a failed transfer, naming the host, and whether a retry may help.
std::pair<std::string, bool> DescribeFailure(CURL* curl, CURLcode code, const char* errbuf,
                                             const Transfer& transfer) {
  const HttpRequest& request = transfer.request;
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
      double total_s = 0;
      curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME, &total_s);
      if (request.total_timeout.count() > 0 &&
          total_s + 0.5 >= static_cast<double>(request.total_timeout.count())) {
        return {"request to " + host + " timed out after " +
                    std::to_string(request.total_timeout.count()) + " s",
                true};
      }
      return {"transfer with " + host + " stalled (under 1 KiB/s for " +
                  std::to_string(request.low_speed_timeout.count()) + " s)",
              true};
    }
    case CURLE_PARTIAL_FILE: {
      std::optional<std::string> announced = transfer.response.headers.Get("content-length");
      if (announced) {
        return {"body shorter than Content-Length (got " +
                    std::to_string(transfer.response.body_bytes) + " of " + *announced + " bytes)",
                true};
      }
      return {"connection to " + host + " closed after " +
                  std::to_string(transfer.response.body_bytes) + " bytes of the body",
              true};
    }
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

//! The header list to send: the request's, plus the suppressions curl needs.
std::unique_ptr<curl_slist, SlistDeleter> HeaderList(const HttpRequest& request, bool has_body) {
  std::unique_ptr<curl_slist, SlistDeleter> list;
  auto add = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(list.get(), line.c_str());
    if (!next) throw std::bad_alloc();
    (void)list.release();
    list.reset(next);
  };
  for (const auto& [name, value] : request.headers.fields()) {
    // "Name;" sends a field with an empty value; "Name:" would remove it.
    add(value.empty() ? name + ";" : name + ": " + value);
  }
  if (has_body) {
    add("Expect:");
    if (!request.headers.Has("content-type")) add("Content-Type:");
  }
  return list;
}

void SetMethodAndBody(CURL* curl, const HttpRequest& request, Transfer& transfer) {
  const std::string& method = request.method;
  const bool has_body = !std::holds_alternative<std::monostate>(request.body);
  if (!has_body && method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    return;
  }
  if (!has_body && method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    return;
  }
  if (!has_body && method != "POST" && method != "PUT" && method != "PATCH") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());  // DELETE, ...
    return;
  }
  uint64_t length = 0;
  if (const auto* text = std::get_if<std::string>(&request.body)) {
    length = text->size();
  } else if (const auto* range = std::get_if<FileRange>(&request.body)) {
    length = range->length;
    int fd = ::open(range->path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      throw std::system_error(errno, std::generic_category(),
                              "cannot read " + range->path.string());
    }
    transfer.body_fd.Reset(fd);
  }
  // POST with a read callback sends any method's body with a Content-Length.
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(length));
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, &OnRead);
  curl_easy_setopt(curl, CURLOPT_READDATA, &transfer);
  if (method != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
}

void SetOptions(CURL* curl, const HttpRequest& request, curl_slist* headers, Transfer& transfer,
                char* errbuf) {
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // required with threads
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  if (request.follow_redirects) {
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, kMaxRedirects);
  }
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.connect_timeout.count() * 1000));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, kLowSpeedBytesPerSecond);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(request.low_speed_timeout.count()));
  if (request.total_timeout.count() > 0) {
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(request.total_timeout.count() * 1000));
  }
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
  SetMethodAndBody(curl, request, transfer);
}

}  // namespace

void HttpHeaders::Add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void HttpHeaders::Set(std::string_view name, std::string value) {
  std::erase_if(fields_, [&](const auto& field) { return EqualsIgnoringCase(field.first, name); });
  fields_.emplace_back(std::string(name), std::move(value));
}

std::optional<std::string> HttpHeaders::Get(std::string_view name) const {
  for (const auto& [field, value] : fields_) {
    if (EqualsIgnoringCase(field, name)) return value;
  }
  return std::nullopt;
}

std::string HttpResponse::StatusText() const {
  std::string phrase = reason.empty() ? ReasonPhrase(status) : reason;
  return "HTTP " + std::to_string(status) + (phrase.empty() ? "" : " " + phrase);
}

HttpResponse SendHttp(const HttpRequest& request) {
  EnsureCurlGlobal();
  std::unique_ptr<CURL, EasyDeleter> curl(curl_easy_init());
  if (!curl) throw std::runtime_error("curl_easy_init failed");
  const bool has_body = !std::holds_alternative<std::monostate>(request.body) ||
                        request.method == "POST" || request.method == "PUT" ||
                        request.method == "PATCH";
  std::unique_ptr<curl_slist, SlistDeleter> headers = HeaderList(request, has_body);

  Transfer transfer{request, {}, false, false, {}, {}, 0, nullptr};
  char errbuf[CURL_ERROR_SIZE] = {};
  SetOptions(curl.get(), request, headers.get(), transfer, errbuf);
  CURLcode code = curl_easy_perform(curl.get());
  if (transfer.error) std::rethrow_exception(transfer.error);
  if (code != CURLE_OK) {
    std::tie(transfer.response.transport_error, transfer.response.retryable) =
        DescribeFailure(curl.get(), code, errbuf, transfer);
  }
  return std::move(transfer.response);
}

std::string ReasonPhrase(long status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 308:
      return "Permanent Redirect";
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
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 412:
      return "Precondition Failed";
    case 416:
      return "Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    case 499:
      return "Client Closed Request";
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

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (alnum || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace kiln::connectors
