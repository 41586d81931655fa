#include "support/fake_google_apis.h"

#include "support/google_wire.h"
#include "support/httplib.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace kiln::testing {
namespace {

using nlohmann::json;
using namespace google_wire;
constexpr uint64_t kQuantum = 256 * 1024;  // "chunk size must be a multiple of 256 KiB"

}  // namespace

FakeGoogleApis::Fault FakeGoogleApis::Fault::Status(Op op, int status, int times,
                                                    std::string message) {
  Fault fault;
  fault.op = op;
  fault.status = status;
  fault.times = times;
  fault.message = std::move(message);
  return fault;
}

FakeGoogleApis::Fault FakeGoogleApis::Fault::Drop(Op op, std::optional<uint64_t> keep, int skip) {
  Fault fault;
  fault.op = op;
  fault.drop = true;
  fault.keep_bytes = keep;
  fault.skip = skip;
  return fault;
}

FakeGoogleApis::Fault FakeGoogleApis::Fault::ShortRange(uint64_t keep) {
  Fault fault;
  fault.op = Op::kChunk;
  fault.keep_bytes = keep;
  return fault;
}

FakeGoogleApis::FakeGoogleApis(Options options)
    : options_(std::move(options)), server_(std::make_unique<httplib::Server>()) {
  auto handler = [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); };
  server_->Get(".*", handler);
  server_->Post(".*", handler);
  server_->Put(".*", handler);
  server_->Delete(".*", handler);
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("FakeGoogleApis: cannot bind a loopback port");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeGoogleApis::~FakeGoogleApis() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string FakeGoogleApis::host_port() const {
  return "127.0.0.1:" + std::to_string(port_);
}
std::string FakeGoogleApis::base_url() const {
  return "http://" + host_port();
}
std::string FakeGoogleApis::token_uri() const {
  return base_url() + "/token";
}

void FakeGoogleApis::CreateBucket(const std::string& bucket) {
  std::lock_guard<std::mutex> guard(mutex_);
  buckets_[bucket];
}

void FakeGoogleApis::PutObject(const std::string& bucket, const std::string& name,
                               const std::string& bytes) {
  std::lock_guard<std::mutex> guard(mutex_);
  Store(bucket, name, bytes);
}

int64_t FakeGoogleApis::Store(const std::string& bucket, const std::string& name,
                              std::string bytes) {
  int64_t generation = next_generation_++;
  buckets_[bucket].objects[name] = {std::move(bytes), generation};
  return generation;
}

std::optional<std::string> FakeGoogleApis::Object(const std::string& bucket,
                                                  const std::string& name) const {
  std::lock_guard<std::mutex> guard(mutex_);
  auto b = buckets_.find(bucket);
  if (b == buckets_.end()) return std::nullopt;
  auto o = b->second.objects.find(name);
  if (o == b->second.objects.end()) return std::nullopt;
  return o->second.first;
}

std::vector<std::string> FakeGoogleApis::ObjectNames(const std::string& bucket) const {
  std::lock_guard<std::mutex> guard(mutex_);
  std::vector<std::string> names;
  if (auto b = buckets_.find(bucket); b != buckets_.end()) {
    for (const auto& [name, object] : b->second.objects) names.push_back(name);
  }
  return names;
}

int FakeGoogleApis::open_sessions() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return static_cast<int>(std::count_if(sessions_.begin(), sessions_.end(),
                                        [](const auto& s) { return !s.second.done; }));
}

void FakeGoogleApis::Inject(Fault fault) {
  std::lock_guard<std::mutex> guard(mutex_);
  faults_.push_back(std::move(fault));
}

void FakeGoogleApis::RevokeTokens() {
  std::lock_guard<std::mutex> guard(mutex_);
  for (std::string& token : tokens_) token = "revoked:" + token;
}

int FakeGoogleApis::tokens_issued() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return static_cast<int>(tokens_.size());
}

std::vector<FakeGoogleApis::Logged> FakeGoogleApis::Requests() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return log_;
}

std::vector<FakeGoogleApis::Logged> FakeGoogleApis::Requests(Op op) const {
  std::vector<Logged> all = Requests();
  std::erase_if(all, [op](const Logged& l) { return l.op != op; });
  return all;
}

std::vector<std::string> FakeGoogleApis::violations() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return violations_;
}

void FakeGoogleApis::Violation(httplib::Response& res, const std::string& why) {
  violations_.push_back(why);
  res.status = 400;
  res.set_content(ErrorJson(400, "invalid", why), "application/json");
}

std::optional<FakeGoogleApis::Fault> FakeGoogleApis::TakeFault(Op op) {
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->op != op) continue;
    if (it->skip > 0) {
      --it->skip;
      return std::nullopt;
    }
    Fault fault = *it;
    if (--it->times <= 0) faults_.erase(it);
    return fault;
  }
  return std::nullopt;
}

FakeGoogleApis::Op FakeGoogleApis::Classify(const httplib::Request& req, std::string& bucket,
                                            std::string& object, std::string& why) const {
  const std::string path = req.target.substr(0, req.target.find('?'));
  const std::string& m = req.method;
  if (path == "/token") return m == "POST" ? Op::kToken : Op::kUnknown;
  auto segment_after = [&](const std::string& prefix, std::string& out) {
    std::string rest = path.substr(prefix.size());
    size_t slash = rest.find('/');
    std::string raw = rest.substr(0, slash);
    if (!IsEncoded(raw)) why = "'" + raw + "' is not percent-encoded";
    out = Decode(raw).value_or("");
    return slash == std::string::npos ? std::string() : rest.substr(slash);
  };
  if (path.starts_with("/upload/storage/v1/b/")) {
    std::string tail = segment_after("/upload/storage/v1/b/", bucket);
    if (tail != "/o") return Op::kUnknown;
    const std::string type = req.get_param_value("uploadType");
    if (m == "POST" && type == "media") return Op::kMediaUpload;
    if (m == "POST" && type == "resumable" && !req.has_param("upload_id"))
      return Op::kResumableStart;
    if (type == "resumable" && req.has_param("upload_id")) {
      if (m == "DELETE") return Op::kSessionDelete;
      if (m == "PUT") {
        auto range = ParseContentRange(req.get_header_value("Content-Range"));
        return range && !range->first ? Op::kStatusQuery : Op::kChunk;
      }
    }
    return Op::kUnknown;
  }
  if (path.starts_with("/storage/v1/b/")) {
    std::string tail = segment_after("/storage/v1/b/", bucket);
    if (tail.empty()) return m == "GET" ? Op::kBucketGet : Op::kUnknown;
    if (tail == "/o") return m == "GET" ? Op::kList : Op::kUnknown;
    if (!tail.starts_with("/o/")) return Op::kUnknown;
    std::string raw = tail.substr(3);
    if (!IsEncoded(raw)) why = "object name '" + raw + "' is not percent-encoded ('/' as %2F)";
    object = Decode(raw).value_or("");
    if (m == "DELETE") return Op::kObjectDelete;
    if (m == "GET") return req.get_param_value("alt") == "media" ? Op::kDownload : Op::kObjectGet;
  }
  return Op::kUnknown;
}

void FakeGoogleApis::Handle(const httplib::Request& req, httplib::Response& res) {
  std::lock_guard<std::mutex> guard(mutex_);
  std::string bucket, object, why;
  const Op op = Classify(req, bucket, object, why);
  Logged logged{op,
                req.method,
                req.target,
                req.get_header_value("Authorization"),
                req.get_header_value("Content-Range"),
                req.get_header_value("Content-Type"),
                {},
                req.body.size(),
                0};
  for (const auto& [key, value] : req.params) logged.params[key] = value;
  struct LogOnExit {
    FakeGoogleApis& fake;
    Logged& logged;
    httplib::Response& res;
    bool dropped = false;
    ~LogOnExit() {
      logged.status = dropped ? 0 : res.status == -1 ? 200 : res.status;
      fake.log_.push_back(logged);
    }
  } log_on_exit{*this, logged, res};

  if (op == Op::kUnknown) return Violation(res, req.method + " " + req.target + " is no API call");
  if (!why.empty()) return Violation(res, why);
  std::optional<Fault> fault = TakeFault(op);
  if (fault && fault->status) {
    res.status = fault->status;
    if (op == Op::kToken) {
      res.set_content(
          json{{"error", "invalid_grant"}, {"error_description", fault->message}}.dump(),
          "application/json");
    } else {
      res.set_content(ErrorJson(fault->status, ReasonOf(fault->status), fault->message),
                      "application/json");
    }
    return;
  }
  if (fault && fault->drop && !(op == Op::kChunk && fault->keep_bytes)) {
    log_on_exit.dropped = true;
    res.set_content_provider(1000, "application/json",
                             [](size_t, size_t, httplib::DataSink&) { return false; });
    return;
  }
  if (op == Op::kToken) return Token(req, res);

  // Every Cloud Storage request: "Authorization: Bearer <access token>", or none for an emulator.
  const std::string auth = req.get_header_value("Authorization");
  if (options_.require_auth) {
    const bool known = auth.starts_with("Bearer ") &&
                       std::find(tokens_.begin(), tokens_.end(), auth.substr(7)) != tokens_.end();
    if (!known) {
      res.status = 401;
      res.set_content(ErrorJson(401, "authError", "Invalid Credentials"), "application/json");
      return;
    }
  } else if (!auth.empty()) {
    return Violation(res, "an emulator request carries Authorization");
  }
  if (op == Op::kChunk || op == Op::kStatusQuery) {
    log_on_exit.dropped = fault && fault->drop;
    return SessionPut(req, res, fault ? fault->keep_bytes : std::nullopt, fault && fault->drop);
  }
  if (op == Op::kMediaUpload || op == Op::kResumableStart || op == Op::kSessionDelete) {
    return Upload(op, bucket, req, res);
  }
  Storage(op, bucket, object, req, res);
}

void FakeGoogleApis::Token(const httplib::Request& req, httplib::Response& res) {
  auto refuse = [&](const std::string& error, const std::string& description) {
    res.status = 400;
    res.set_content(json{{"error", error}, {"error_description", description}}.dump(),
                    "application/json");
  };
  if (req.get_header_value("Content-Type") != "application/x-www-form-urlencoded") {
    return Violation(res, "token request Content-Type is not application/x-www-form-urlencoded");
  }
  auto form = ParseForm(req.body);
  const std::string grant = form["grant_type"];
  if (grant == "urn:ietf:params:oauth:grant-type:jwt-bearer") {
    const std::string jwt = form["assertion"];
    size_t dot1 = jwt.find('.'), dot2 = jwt.find('.', dot1 + 1);
    if (dot1 == std::string::npos || dot2 == std::string::npos) {
      return refuse("invalid_grant", "Invalid JWT: not three parts");
    }
    json header = json::parse(Base64UrlDecode(jwt.substr(0, dot1)), nullptr, false);
    json claims =
        json::parse(Base64UrlDecode(jwt.substr(dot1 + 1, dot2 - dot1 - 1)), nullptr, false);
    if (!header.is_object() || header.value("alg", "") != "RS256" ||
        header.value("typ", "") != "JWT") {
      return refuse("invalid_grant", "Invalid JWT header");
    }
    if (!VerifyRs256(options_.public_key_pem, jwt.substr(0, dot2),
                     Base64UrlDecode(jwt.substr(dot2 + 1)))) {
      return refuse("invalid_grant", "Invalid JWT Signature.");
    }
    if (!claims.is_object() || claims.value("iss", "") != options_.client_email ||
        claims.value("aud", "") != token_uri() ||
        claims.value("scope", "").find("https://www.googleapis.com/auth/") == std::string::npos) {
      return refuse("invalid_grant", "Invalid JWT claims (iss, aud or scope)");
    }
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const int64_t iat = claims.value("iat", int64_t{0}), exp = claims.value("exp", int64_t{0});
    if (exp - iat > 3600 || iat > now + 60 || exp < now) {
      return refuse("invalid_grant",
                    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                    "reasonable timeframe. Check your iat and exp values in the JWT claim.");
    }
  } else if (grant == "refresh_token") {
    if (options_.refresh_token.empty() || form["refresh_token"] != options_.refresh_token ||
        form["client_id"].empty() || form["client_secret"].empty()) {
      return refuse("invalid_grant", "Bad Request");
    }
  } else {
    return refuse("unsupported_grant_type", "Invalid grant_type: " + grant);
  }
  std::string token = "ya29.fake-" + std::to_string(tokens_.size() + 1);
  tokens_.push_back(token);
  res.set_content(
      json{{"access_token", token}, {"expires_in", options_.expires_in}, {"token_type", "Bearer"}}
          .dump(),
      "application/json");
}

std::string FakeGoogleApis::ObjectJson(const std::string& bucket, const std::string& name) const {
  const auto& [bytes, generation] = buckets_.at(bucket).objects.at(name);
  return json{{"kind", "storage#object"},
              {"bucket", bucket},
              {"name", name},
              {"size", std::to_string(bytes.size())},  // uint64 values are JSON strings
              {"generation", std::to_string(generation)}}
      .dump();
}

void FakeGoogleApis::Storage(Op op, const std::string& bucket, const std::string& object,
                             const httplib::Request& req, httplib::Response& res) {
  auto b = buckets_.find(bucket);
  auto not_found = [&](const std::string& message) {
    res.status = 404;
    res.set_content(ErrorJson(404, "notFound", message), "application/json");
  };
  if (b == buckets_.end()) return not_found("The specified bucket does not exist.");
  if (op == Op::kBucketGet) {
    res.set_content(json{{"name", bucket}}.dump(), "application/json");
    return;
  }
  if (op == Op::kList) {
    const std::string prefix = req.get_param_value("prefix");
    int max = options_.max_page;
    if (req.has_param("maxResults"))
      max = std::min(max, std::stoi(req.get_param_value("maxResults")));
    const std::string start = req.get_param_value("pageToken");
    json items = json::array();
    std::string next;
    for (auto it =
             b->second.objects.lower_bound(start.empty() ? prefix : Decode(start).value_or(""));
         it != b->second.objects.end() && it->first.starts_with(prefix); ++it) {
      if (static_cast<int>(items.size()) == max) {
        next = Encode(it->first);  // opaque to clients
        break;
      }
      items.push_back(json::parse(ObjectJson(bucket, it->first)));
    }
    json page = {{"kind", "storage#objects"}};
    if (!items.empty()) page["items"] = items;  // absent when empty, as the API does
    if (!next.empty()) page["nextPageToken"] = next;
    res.set_content(page.dump(), "application/json");
    return;
  }
  auto o = b->second.objects.find(object);
  if (o == b->second.objects.end()) return not_found("No such object: " + bucket + "/" + object);
  if (op == Op::kObjectDelete) {
    b->second.objects.erase(o);
    res.status = 204;
    return;
  }
  if (op == Op::kDownload) {
    res.set_header("x-goog-generation", std::to_string(o->second.second));
    res.set_content(o->second.first, "application/octet-stream");
    return;
  }
  res.set_content(ObjectJson(bucket, object), "application/json");
}

void FakeGoogleApis::Upload(Op op, const std::string& bucket, const httplib::Request& req,
                            httplib::Response& res) {
  if (op == Op::kSessionDelete) {
    auto s = sessions_.find(req.get_param_value("upload_id"));
    if (s == sessions_.end() || s->second.done) {
      res.status = 404;
      return;
    }
    s->second.done = true;
    res.status = 499;  // "a successful cancellation returns 499 Client Closed Request"
    return;
  }
  if (!buckets_.contains(bucket)) {
    res.status = 404;
    res.set_content(ErrorJson(404, "notFound", "The specified bucket does not exist."),
                    "application/json");
    return;
  }
  if (op == Op::kMediaUpload) {
    const std::string name = req.get_param_value("name");
    const std::string raw = req.target.substr(req.target.find("name=") + 5);
    if (name.empty()) return Violation(res, "media upload without name=");
    if (!IsEncoded(raw.substr(0, raw.find('&')))) {
      return Violation(res, "name= value is not percent-encoded");
    }
    if (req.get_header_value("Content-Type").empty()) {
      return Violation(res, "media upload without Content-Type");
    }
    Store(bucket, name, req.body);
    res.set_content(ObjectJson(bucket, name), "application/json");
    return;
  }
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("name") || !body["name"].is_string()) {
    return Violation(res, "resumable start without a JSON body naming the object");
  }
  Session session{bucket, body["name"], req.get_header_value("X-Upload-Content-Type"),
                  {},     {},           false};
  if (req.has_header("X-Upload-Content-Length")) {
    session.declared_size = std::stoull(req.get_header_value("X-Upload-Content-Length"));
  }
  const std::string id = "session-" + std::to_string(next_session_++);
  sessions_[id] = std::move(session);
  res.set_header("Location", base_url() + "/upload/storage/v1/b/" + Encode(bucket) +
                                 "/o?uploadType=resumable&upload_id=" + id);
}

void FakeGoogleApis::SessionPut(const httplib::Request& req, httplib::Response& res,
                                std::optional<uint64_t> keep, bool drop) {
  auto s = sessions_.find(req.get_param_value("upload_id"));
  if (s == sessions_.end() || s->second.done) {
    res.status = 404;
    res.set_content(ErrorJson(404, "notFound", "No such upload session"), "application/json");
    return;
  }
  Session& session = s->second;
  auto range = ParseContentRange(req.get_header_value("Content-Range"));
  if (!range)
    return Violation(res,
                     "malformed Content-Range '" + req.get_header_value("Content-Range") + "'");
  if (range->first) {
    const uint64_t length = *range->last - *range->first + 1;
    if (length != req.body.size())
      return Violation(res, "Content-Range length differs from the body");
    if (*range->first != session.data.size()) {
      return Violation(res, "chunk starts at " + std::to_string(*range->first) +
                                " but the session holds " + std::to_string(session.data.size()));
    }
    const bool final = range->total && *range->last + 1 == *range->total;
    if (!final && length % kQuantum != 0) {
      return Violation(res, "non-final chunk of " + std::to_string(length) +
                                " bytes is not a multiple of 256 KiB");
    }
    if (range->total && *range->last + 1 > *range->total) {
      return Violation(res, "chunk ends past the declared total");
    }
    session.data += keep ? req.body.substr(0, *keep) : req.body;
  } else if (!req.body.empty()) {
    return Violation(res, "status query with a body");
  }
  if (drop) {
    res.set_content_provider(1000, "application/json",
                             [](size_t, size_t, httplib::DataSink&) { return false; });
    return;
  }
  if (range->total && session.data.size() == *range->total) {
    session.done = true;
    Store(session.bucket, session.name, session.data);
    res.status = 200;
    res.set_content(ObjectJson(session.bucket, session.name), "application/json");
    return;
  }
  res.status = 308;  // "Resume Incomplete"
  if (!session.data.empty()) {
    res.set_header("Range", "bytes=0-" + std::to_string(session.data.size() - 1));
  }
}

}  // namespace kiln::testing
