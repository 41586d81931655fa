#include "kiln/connectors/bigquery/client.h"

#include <random>
#include <thread>

namespace kiln::connectors::bigquery {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr uint64_t kChunkQuantum = 256 * 1024;  // resumable chunks are multiples of 256 KiB

std::string JobQuery(const std::string& location) {
  return location.empty() ? "" : "location=" + PercentEncode(location);
}

// "bytes=0-N" -> N + 1; nullopt without a usable Range.
std::optional<uint64_t> NextOffset(const HttpResponse& response) {
  std::optional<std::string> range = response.headers.Get("Range");
  if (!range) return 0;
  size_t dash = range->rfind('-');
  if (dash == std::string::npos) return std::nullopt;
  try {
    return std::stoull(range->substr(dash + 1)) + 1;
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace

Endpoint EndpointFor(const std::string& emulator_host) {
  Endpoint e;
  if (emulator_host.empty()) return e;
  e.emulator = true;
  e.root =
      emulator_host.find("://") == std::string::npos ? "http://" + emulator_host : emulator_host;
  while (!e.root.empty() && e.root.back() == '/') e.root.pop_back();
  return e;
}

json JsonBody(const HttpResponse& response, const std::string& what) {
  if (response.body.empty()) return json::object();
  json parsed = json::parse(response.body, nullptr, false);
  if (parsed.is_discarded())
    throw WarehouseError(what + " failed: BigQuery answered " + response.StatusText() +
                         " with a body that is not JSON");
  return parsed;
}

Client::Client(Endpoint endpoint, std::string project, std::string location, TokenFn token,
               HttpOptions http)
    : endpoint_(std::move(endpoint)),
      project_(std::move(project)),
      location_(std::move(location)),
      token_(std::move(token)),
      http_(std::move(http)) {}

std::string Client::ApiUrl(const std::string& path) const {
  return endpoint_.root + "/bigquery/v2/projects/" + PercentEncode(project_) + path;
}

void Client::Authorize(HttpRequest& request, bool refresh) const {
  if (endpoint_.emulator || !token_) return;
  request.headers.Set("Authorization", "Bearer " + token_(refresh));
}

void Client::Fail(const std::string& what, const HttpResponse& response) const {
  if (!response.transport_error.empty())
    throw WarehouseError(what + " failed: " + response.transport_error);
  json body = json::parse(response.body, nullptr, false);
  std::string reason, message;
  if (!body.is_discarded() && body.contains("error") && body["error"].is_object()) {
    const json& error = body["error"];
    message = error.value("message", "");
    if (error.contains("errors") && error["errors"].is_array() && !error["errors"].empty()) {
      reason = error["errors"][0].value("reason", "");
      if (message.empty()) message = error["errors"][0].value("message", "");
    }
    if (reason.empty()) reason = error.value("status", "");
  }
  std::string detail = reason.empty() ? message : reason + (message.empty() ? "" : ": " + message);
  throw WarehouseError(what + " failed: " + (detail.empty() ? "" : detail + " ") + "(" +
                       response.StatusText() + ")");
}

HttpResponse Client::Call(const std::string& method, const std::string& url,
                          const std::optional<json>& body, const std::string& what,
                          const CancelFn& cancelled) {
  for (int attempt = 0;; ++attempt) {
    HttpRequest request(method, url);
    request.connect_timeout = http_.connect_timeout;
    request.low_speed_timeout = http_.low_speed_timeout;
    request.cancelled = cancelled;
    if (body) {
      request.headers.Add("Content-Type", "application/json; charset=UTF-8");
      request.body = body->dump();
    }
    Authorize(request, attempt > 0);
    HttpResponse response = SendWithRetries(request, http_.retry, http_.log);
    if (response.status == 401 && attempt == 0 && !endpoint_.emulator) continue;
    if (!response.transport_error.empty()) Fail(what, response);
    return response;
  }
}

void Client::CreateDataset(const std::string& dataset) {
  json body = {{"datasetReference", {{"projectId", project_}, {"datasetId", dataset}}}};
  if (!location_.empty()) body["location"] = location_;
  const std::string what = "creating dataset " + project_ + "." + dataset;
  HttpResponse r = Call("POST", ApiUrl("/datasets"), body, what);
  if (!r.ok() && r.status != 409) Fail(what, r);
}

bool Client::TableExists(const TableRef& t) {
  const std::string url = endpoint_.root + "/bigquery/v2/projects/" + PercentEncode(t.project) +
                          "/datasets/" + PercentEncode(t.dataset) + "/tables/" +
                          PercentEncode(t.table) + "?fields=id";
  HttpResponse r = Call("GET", url, std::nullopt, "looking up table " + t.Display());
  if (r.status == 404) return false;
  if (!r.ok()) Fail("looking up table " + t.Display(), r);
  return true;
}

json Client::GetJob(const std::string& job_id) {
  std::string query = JobQuery(location_);
  HttpResponse r =
      Call("GET", ApiUrl("/jobs/" + PercentEncode(job_id)) + (query.empty() ? "" : "?" + query),
           std::nullopt, "BigQuery job " + job_id);
  if (!r.ok()) Fail("BigQuery job " + job_id, r);
  return JsonBody(r, "BigQuery job " + job_id);
}

json Client::InsertJob(const json& job) {
  const std::string id = job["jobReference"].value("jobId", "");
  HttpResponse r = Call("POST", ApiUrl("/jobs"), job, "starting BigQuery job " + id);
  if (r.status == 409) return GetJob(id);  // an earlier try went through: the same job
  if (!r.ok()) Fail("starting BigQuery job " + id, r);
  return JsonBody(r, "starting BigQuery job " + id);
}

json Client::InsertUploadJob(const json& job, const fs::path& file, const CancelFn& cancelled,
                             uint64_t chunk_size) {
  const std::string id = job["jobReference"].value("jobId", "");
  const std::string what = "uploading " + file.string() + " for BigQuery job " + id;
  std::error_code ec;
  const uint64_t size = fs::file_size(file, ec);
  if (ec) throw WarehouseError(what + " failed: " + ec.message());
  chunk_size = std::max<uint64_t>(kChunkQuantum, chunk_size / kChunkQuantum * kChunkQuantum);

  // 1. The session: the job's configuration now, its bytes next.
  HttpRequest start("POST", endpoint_.root + "/upload/bigquery/v2/projects/" +
                                PercentEncode(project_) + "/jobs?uploadType=resumable");
  start.headers.Add("Content-Type", "application/json; charset=UTF-8");
  start.headers.Add("X-Upload-Content-Type", "application/octet-stream");
  start.headers.Add("X-Upload-Content-Length", std::to_string(size));
  start.body = job.dump();
  start.cancelled = cancelled;
  HttpResponse session;
  for (int attempt = 0; attempt < 2; ++attempt) {
    Authorize(start, attempt > 0);
    session = SendWithRetries(start, http_.retry, http_.log);
    if (session.status != 401 || endpoint_.emulator) break;
  }
  if (!session.ok()) Fail(what, session);
  std::optional<std::string> location = session.headers.Get("Location");
  if (!location) throw WarehouseError(what + " failed: BigQuery sent no upload session URI");

  // 2. The bytes, chunk by chunk; only the last chunk (with the total) finishes the upload.
  uint64_t offset = 0;
  int failures = 0;
  std::minstd_rand random(std::random_device{}());
  while (true) {
    if (cancelled && cancelled()) throw WarehouseError(what + " was cancelled");
    HttpRequest put("PUT", *location);
    put.cancelled = cancelled;
    put.connect_timeout = http_.connect_timeout;
    put.low_speed_timeout = http_.low_speed_timeout;
    const uint64_t length = std::min(chunk_size, size - offset);
    if (size == 0) {
      put.headers.Add("Content-Range", "bytes */0");
      put.body = std::string();
    } else {
      put.headers.Add("Content-Range", "bytes " + std::to_string(offset) + "-" +
                                           std::to_string(offset + length - 1) + "/" +
                                           std::to_string(size));
      put.body = FileRange{file, offset, length};
    }
    Authorize(put, false);
    HttpResponse r = SendHttp(put);
    if (r.ok()) return JsonBody(r, what);
    if (r.status == 409) return GetJob(id);  // finished by an earlier try
    if (r.status == 308) {
      std::optional<uint64_t> next = NextOffset(r);
      if (!next || *next > size) Fail(what, r);
      // A server that keeps nothing of what is sent would have us loop: give up as on errors.
      if (*next > offset) {
        failures = 0;
      } else if (++failures >= http_.retry.max_attempts) {
        Fail(what, r);
      }
      offset = *next;
      continue;
    }
    if (!IsRetryable(r) || ++failures >= http_.retry.max_attempts) Fail(what, r);
    if (!SleepUnlessCancelled(RetryDelay(http_.retry, failures + 1, RetryAfter(r), random),
                              cancelled)) {
      throw WarehouseError(what + " was cancelled");
    }
    // Where did the server get to? An empty PUT with "bytes */TOTAL" says.
    HttpRequest status("PUT", *location);
    status.headers.Add("Content-Range", "bytes */" + std::to_string(size));
    status.body = std::string();
    Authorize(status, false);
    HttpResponse s = SendHttp(status);
    if (s.ok()) return JsonBody(s, what);
    if (s.status == 308) {
      std::optional<uint64_t> next = NextOffset(s);
      if (next && *next <= size) offset = *next;
    }
  }
}

json Client::WaitForJob(const std::string& job_id, const std::string& what,
                        const CancelFn& cancelled) {
  auto delay = std::chrono::milliseconds(200);
  while (true) {
    json job = GetJob(job_id);
    const json& status = job.value("status", json::object());
    if (status.value("state", "") == "DONE") {
      if (status.contains("errorResult") && status["errorResult"].is_object()) {
        const json& e = status["errorResult"];
        std::string location = e.value("location", "");
        throw WarehouseError(
            "BigQuery job " + job_id + " (" + what + ") failed: " + e.value("reason", "error") +
            ": " + e.value("message", "") + (location.empty() ? "" : " (" + location + ")"));
      }
      return job;
    }
    if (!SleepUnlessCancelled(delay, cancelled)) {
      CancelJob(job_id);
      throw WarehouseError("BigQuery job " + job_id + " (" + what + ") was cancelled");
    }
    delay = std::min(delay * 2, std::chrono::milliseconds(2000));
  }
}

json Client::GetQueryResults(const std::string& job_id, const std::string& page_token,
                             uint64_t max_results, int timeout_ms) {
  std::string query = "maxResults=" + std::to_string(max_results) +
                      "&timeoutMs=" + std::to_string(timeout_ms) +
                      "&formatOptions.useInt64Timestamp=true";
  if (!location_.empty()) query += "&" + JobQuery(location_);
  if (!page_token.empty()) query += "&pageToken=" + PercentEncode(page_token);
  const std::string what = "reading the results of BigQuery job " + job_id;
  HttpResponse r =
      Call("GET", ApiUrl("/queries/" + PercentEncode(job_id)) + "?" + query, std::nullopt, what);
  if (!r.ok()) Fail(what, r);
  return JsonBody(r, what);
}

void Client::CancelJob(const std::string& job_id) {
  try {
    std::string query = JobQuery(location_);
    Call("POST",
         ApiUrl("/jobs/" + PercentEncode(job_id) + "/cancel") + (query.empty() ? "" : "?" + query),
         std::nullopt, "cancelling BigQuery job " + job_id);
  } catch (const std::exception& e) {
    if (http_.log) http_.log(std::string("warning: ") + e.what());
  }
}

}  // namespace kiln::connectors::bigquery
