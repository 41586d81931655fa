#include "support/fake_bigquery.h"

#include <regex>

namespace kiln::testing {
using nlohmann::json;

namespace {

// Documented identifier forms: dataset and table ids are letters, digits and underscores; job
// ids letters, digits, '_' and '-' up to 1,024 characters.
const std::regex kDatasetId("[A-Za-z0-9_]{1,1024}");
const std::regex kJobId("[A-Za-z0-9_-]{1,1024}");
const std::set<std::string> kDispositions = {"WRITE_TRUNCATE", "WRITE_APPEND", "WRITE_EMPTY"};
const std::set<std::string> kCreate = {"CREATE_IF_NEEDED", "CREATE_NEVER"};

bool OnlyKeys(const json& object, const std::set<std::string>& allowed, std::string& why,
              const std::string& where) {
  if (!object.is_object()) {
    why = where + " is not an object";
    return false;
  }
  for (auto& [key, value] : object.items()) {
    if (!allowed.count(key)) {
      why = where + " has an unknown field '" + key + "'";
      return false;
    }
  }
  return true;
}

bool ValidTableReference(const json& t, std::string& why, const std::string& where) {
  if (!OnlyKeys(t, {"projectId", "datasetId", "tableId"}, why, where)) return false;
  for (const char* key : {"projectId", "datasetId", "tableId"}) {
    if (!t.contains(key) || !t[key].is_string() || t[key].get<std::string>().empty()) {
      why = where + "." + key + " is missing";
      return false;
    }
  }
  return true;
}

}  // namespace

FakeBigQuery::FakeBigQuery(bool emulator, std::string token)
    : emulator_(emulator), token_(std::move(token)) {
  Serve();
  port_ = server_.bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeBigQuery::~FakeBigQuery() {
  server_.stop();
  thread_.join();
}

std::string FakeBigQuery::root() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

std::vector<FakeBigQuery::Request> FakeBigQuery::requests() {
  std::lock_guard lock(mu_);
  return requests_;
}
std::vector<std::string> FakeBigQuery::refusals() {
  std::lock_guard lock(mu_);
  return refusals_;
}
std::map<std::string, std::string> FakeBigQuery::uploads() {
  std::lock_guard lock(mu_);
  return uploads_;
}
std::map<std::string, json> FakeBigQuery::jobs() {
  std::lock_guard lock(mu_);
  return jobs_;
}
void FakeBigQuery::AddDataset(const std::string& p, const std::string& d) {
  std::lock_guard lock(mu_);
  datasets_.insert(p + "." + d);
}
void FakeBigQuery::AddTable(const std::string& p, const std::string& d, const std::string& t) {
  std::lock_guard lock(mu_);
  tables_.insert(p + "." + d + "." + t);
}
void FakeBigQuery::SetQueryResult(json schema, json rows, size_t page_size) {
  std::lock_guard lock(mu_);
  schema_ = std::move(schema);
  rows_ = std::move(rows);
  page_size_ = page_size;
}
void FakeBigQuery::SetPollsBeforeDone(int polls) {
  std::lock_guard lock(mu_);
  polls_before_done_ = polls;
}
void FakeBigQuery::SetJobsNeverFinish(bool never) {
  std::lock_guard lock(mu_);
  never_finish_ = never;
}
void FakeBigQuery::SetUploadsKeepNothing(bool keep_nothing) {
  std::lock_guard lock(mu_);
  keep_nothing_ = keep_nothing;
}
void FakeBigQuery::FailNextJob(json error_result) {
  std::lock_guard lock(mu_);
  next_error_ = std::move(error_result);
}
void FakeBigQuery::LoseNextInsertAnswer() {
  std::lock_guard lock(mu_);
  lose_next_insert_ = true;
}
void FakeBigQuery::SetLoadRows(uint64_t rows) {
  std::lock_guard lock(mu_);
  load_rows_ = rows;
}

void FakeBigQuery::Refuse(httplib::Response& res, const std::string& why) {
  refusals_.push_back(why);
  res.status = 400;
  res.set_content(json({{"error",
                         {{"code", 400},
                          {"message", "fake: " + why},
                          {"status", "INVALID_ARGUMENT"},
                          {"errors", {{{"reason", "invalid"}, {"message", "fake: " + why}}}}}}})
                      .dump(),
                  "application/json");
}

void FakeBigQuery::Record(const httplib::Request& req) {
  Request r;
  r.method = req.method;
  r.path = req.path;
  r.params = req.params;
  r.body = json::parse(req.body, nullptr, false);
  if (r.body.is_discarded()) r.body = json();
  r.authorization = req.get_header_value("Authorization");
  r.content_range = req.get_header_value("Content-Range");
  r.bytes = req.body.size();
  requests_.push_back(std::move(r));
}

bool FakeBigQuery::CheckAuth(const httplib::Request& req, httplib::Response& res) {
  const std::string auth = req.get_header_value("Authorization");
  if (emulator_ && !auth.empty()) {
    Refuse(res, "an emulator request carries Authorization");
    return false;
  }
  if (!emulator_ && auth != "Bearer " + token_) {
    res.status = 401;
    res.set_content(R"({"error":{"code":401,"message":"Request had invalid authentication )"
                    R"(credentials.","status":"UNAUTHENTICATED"}})",
                    "application/json");
    refusals_.push_back("missing or wrong bearer token");
    return false;
  }
  return true;
}

bool FakeBigQuery::ValidJob(const json& job, const std::string& project, bool upload,
                            std::string& why) {
  if (!OnlyKeys(job, {"jobReference", "configuration"}, why, "job")) return false;
  const json& ref = job.value("jobReference", json());
  if (!OnlyKeys(ref, {"projectId", "jobId", "location"}, why, "jobReference")) return false;
  if (ref.value("projectId", "") != project) {
    why = "jobReference.projectId differs from the path's project";
    return false;
  }
  if (!std::regex_match(ref.value("jobId", ""), kJobId)) {
    why = "jobReference.jobId is not a valid job id";
    return false;
  }
  const json& config = job.value("configuration", json());
  if (!OnlyKeys(config, {"query", "load", "labels", "dryRun", "jobTimeoutMs"}, why,
                "configuration")) {
    return false;
  }
  if (config.contains("load") == config.contains("query")) {
    why = "configuration must hold exactly one of load and query";
    return false;
  }
  if (upload != config.contains("load")) {
    why = upload ? "an upload carries no load configuration" : "a load job without its data";
    return false;
  }
  const json& c = config.contains("load") ? config["load"] : config["query"];
  if (config.contains("load")) {
    if (!OnlyKeys(c,
                  {"sourceFormat", "destinationTable", "writeDisposition", "createDisposition",
                   "parquetOptions", "schema", "autodetect", "schemaUpdateOptions"},
                  why, "configuration.load") ||
        !ValidTableReference(c.value("destinationTable", json()), why, "destinationTable")) {
      return false;
    }
    static const std::set<std::string> kFormats = {
        "CSV", "NEWLINE_DELIMITED_JSON", "AVRO", "PARQUET", "ORC", "DATASTORE_BACKUP"};
    if (!kFormats.count(c.value("sourceFormat", ""))) {
      why = "configuration.load.sourceFormat is not a documented format";
      return false;
    }
    if (c.contains("parquetOptions") &&
        !OnlyKeys(c["parquetOptions"], {"enumAsString", "enableListInference", "mapTargetType"},
                  why, "parquetOptions")) {
      return false;
    }
  } else {
    if (!OnlyKeys(c,
                  {"query", "useLegacySql", "destinationTable", "writeDisposition",
                   "createDisposition", "defaultDataset", "priority", "maximumBytesBilled"},
                  why, "configuration.query")) {
      return false;
    }
    if (!c.contains("query") || !c["query"].is_string()) {
      why = "configuration.query.query is missing";
      return false;
    }
    if (c.value("useLegacySql", true) != false) {
      why = "useLegacySql defaults to true in the REST API: GoogleSQL needs false";
      return false;
    }
    if (c.contains("destinationTable") &&
        !ValidTableReference(c["destinationTable"], why, "destinationTable")) {
      return false;
    }
  }
  if (c.contains("writeDisposition") && !kDispositions.count(c.value("writeDisposition", ""))) {
    why = "writeDisposition is not WRITE_TRUNCATE, WRITE_APPEND or WRITE_EMPTY";
    return false;
  }
  if (c.contains("createDisposition") && !kCreate.count(c.value("createDisposition", ""))) {
    why = "createDisposition is not CREATE_IF_NEEDED or CREATE_NEVER";
    return false;
  }
  return true;
}

json FakeBigQuery::JobResource(const std::string& id) {
  return jobs_.at(id);
}

// One poll of a running job: DONE after polls_before_done_ polls (with the next error).
void FakeBigQuery::Advance(const std::string& id) {
  json& job = jobs_.at(id);
  if (job["status"]["state"] == "DONE" || never_finish_) return;
  if (polls_[id]++ < polls_before_done_) return;
  job["status"]["state"] = "DONE";
  if (!next_error_.is_null()) {
    job["status"]["errorResult"] = next_error_;
    next_error_ = json();
    return;
  }
  const json& config = job["configuration"];
  const json& c = config.contains("load") ? config["load"] : config["query"];
  if (c.contains("destinationTable")) {
    const json& t = c["destinationTable"];
    tables_.insert(t.value("projectId", "") + "." + t.value("datasetId", "") + "." +
                   t.value("tableId", ""));
  }
  if (config.contains("load"))
    job["statistics"] = {{"load", {{"outputRows", std::to_string(load_rows_)}}}};
}

void FakeBigQuery::Serve() {
  const std::string api = R"(/bigquery/v2/projects/([^/]+))";

  server_.Post(api + "/datasets", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    Record(req);
    if (!CheckAuth(req, res)) return;
    json body = json::parse(req.body, nullptr, false);
    std::string why;
    if (!OnlyKeys(body, {"datasetReference", "location", "description", "labels"}, why,
                  "dataset") ||
        !OnlyKeys(body.value("datasetReference", json()), {"projectId", "datasetId"}, why,
                  "datasetReference")) {
      return Refuse(res, why);
    }
    const std::string project = req.matches[1];
    const json& ref = body["datasetReference"];
    if (ref.value("projectId", "") != project)
      return Refuse(res, "datasetReference.projectId differs from the path's project");
    if (!std::regex_match(ref.value("datasetId", ""), kDatasetId))
      return Refuse(res, "datasetReference.datasetId is not a valid dataset id");
    const std::string key = project + "." + ref.value("datasetId", "");
    if (datasets_.count(key)) {
      res.status = 409;
      res.set_content(json({{"error",
                             {{"code", 409},
                              {"message", "Already Exists: Dataset " + key},
                              {"status", "ALREADY_EXISTS"},
                              {"errors", {{{"reason", "duplicate"}}}}}}})
                          .dump(),
                      "application/json");
      return;
    }
    datasets_.insert(key);
    res.set_content(body.dump(), "application/json");
  });

  server_.Get(api + R"(/datasets/([^/]+)/tables/([^/]+))", [this](const httplib::Request& req,
                                                                  httplib::Response& res) {
    std::lock_guard lock(mu_);
    Record(req);
    if (!CheckAuth(req, res)) return;
    const std::string key = std::string(req.matches[1]) + "." + std::string(req.matches[2]) + "." +
                            std::string(req.matches[3]);
    if (!tables_.count(key)) {
      res.status = 404;
      res.set_content(R"({"error":{"code":404,"message":"Not found: Table )" + key +
                          R"(","status":"NOT_FOUND","errors":[{"reason":"notFound"}]}})",
                      "application/json");
      return;
    }
    res.set_content(json({{"id", key}}).dump(), "application/json");
  });

  server_.Post(api + "/jobs", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    Record(req);
    if (!CheckAuth(req, res)) return;
    json job = json::parse(req.body, nullptr, false);
    std::string why;
    if (job.is_discarded() || !ValidJob(job, req.matches[1], false, why)) return Refuse(res, why);
    const std::string id = job["jobReference"]["jobId"];
    if (jobs_.count(id)) {
      res.status = 409;
      res.set_content(
          json({{"error",
                 {{"code", 409},
                  {"message", "Already Exists: Job " + std::string(req.matches[1]) + ":" + id},
                  {"status", "ALREADY_EXISTS"},
                  {"errors", {{{"reason", "duplicate"}}}}}}})
              .dump(),
          "application/json");
      return;
    }
    job["status"] = {{"state", "RUNNING"}};
    jobs_[id] = job;
    if (lose_next_insert_) {
      lose_next_insert_ = false;
      res.status = 503;
      res.set_content(R"({"error":{"code":503,"message":"backend error"}})", "application/json");
      return;
    }
    res.set_content(job.dump(), "application/json");
  });

  // Resumable upload: the session request ("API uploads": POST with uploadType=resumable, the
  // job as JSON, X-Upload-Content-Type / X-Upload-Content-Length), then PUTs of the bytes.
  server_.Post(R"(/upload/bigquery/v2/projects/([^/]+)/jobs)", [this](const httplib::Request& req,
                                                                      httplib::Response& res) {
    std::lock_guard lock(mu_);
    Record(req);
    if (!CheckAuth(req, res)) return;
    if (req.get_param_value("uploadType") != "resumable")
      return Refuse(res, "upload without uploadType=resumable");
    if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0)
      return Refuse(res, "session request is not application/json");
    if (req.get_header_value("X-Upload-Content-Type").empty())
      return Refuse(res, "X-Upload-Content-Type is missing");
    const std::string length = req.get_header_value("X-Upload-Content-Length");
    if (!std::regex_match(length, std::regex("[0-9]+")))
      return Refuse(res, "X-Upload-Content-Length is not a number");
    json job = json::parse(req.body, nullptr, false);
    std::string why;
    if (job.is_discarded() || !ValidJob(job, req.matches[1], true, why)) return Refuse(res, why);
    const std::string upload_id = "s" + std::to_string(next_session_++);
    sessions_[upload_id] = Session{job, std::stoull(length), ""};
    res.set_header("Location", root() + "/upload/bigquery/v2/projects/" +
                                   std::string(req.matches[1]) +
                                   "/jobs?uploadType=resumable&upload_id=" + upload_id);
    res.status = 200;
  });

  server_.Put(R"(/upload/bigquery/v2/projects/([^/]+)/jobs)", [this](const httplib::Request& req,
                                                                     httplib::Response& res) {
    std::lock_guard lock(mu_);
    Record(req);
    if (!CheckAuth(req, res)) return;
    auto it = sessions_.find(req.get_param_value("upload_id"));
    if (it == sessions_.end()) {
      res.status = 404;
      return;
    }
    Session& s = it->second;
    const std::string range = req.get_header_value("Content-Range");
    std::smatch m;
    static const std::regex kChunk(R"(bytes ([0-9]+)-([0-9]+)/([0-9]+|\*))");
    static const std::regex kStatus(R"(bytes \*/([0-9]+|\*))");
    auto incomplete = [&] {
      res.status = 308;
      if (!s.bytes.empty())
        res.set_header("Range", "bytes=0-" + std::to_string(s.bytes.size() - 1));
    };
    auto finish = [&] {
      const std::string id = s.job["jobReference"]["jobId"];
      if (jobs_.count(id)) {
        res.status = 409;
        res.set_content(
            R"({"error":{"code":409,"status":"ALREADY_EXISTS","errors":[{"reason":"duplicate"}]}})",
            "application/json");
        return;
      }
      json job = s.job;
      job["status"] = {{"state", "RUNNING"}};
      jobs_[id] = job;
      uploads_[id] = s.bytes;
      res.set_content(job.dump(), "application/json");
    };
    if (std::regex_match(range, m, kStatus)) {
      if (!req.body.empty()) return Refuse(res, "a status query carries a body");
      if (m[1] == "0" && s.total == 0) return finish();
      return incomplete();
    }
    if (!std::regex_match(range, m, kChunk)) return Refuse(res, "malformed Content-Range");
    const uint64_t first = std::stoull(m[1]), last = std::stoull(m[2]);
    if (first != s.bytes.size())
      return Refuse(res, "chunk starts at " + std::to_string(first) + ", not at the next byte");
    if (last < first || req.body.size() != last - first + 1)
      return Refuse(res, "Content-Range does not match the body's length");
    if (m[3] != "*" && std::stoull(m[3]) != s.total)
      return Refuse(res, "Content-Range total differs from X-Upload-Content-Length");
    const bool final_chunk = last + 1 == s.total;
    if (!final_chunk && req.body.size() % 262144 != 0)
      return Refuse(res, "a chunk that is not the last is not a multiple of 256 KiB");
    if (keep_nothing_) return incomplete();
    s.bytes += req.body;
    if (final_chunk) return finish();
    incomplete();
  });

  server_.Get(api + "/jobs/([^/]+)", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    Record(req);
    if (!CheckAuth(req, res)) return;
    for (auto& [k, v] : req.params)
      if (k != "location") return Refuse(res, "jobs.get has no parameter '" + k + "'");
    const std::string id = req.matches[2];
    if (!jobs_.count(id)) {
      res.status = 404;
      res.set_content(R"({"error":{"code":404,"message":"Not found: Job","status":"NOT_FOUND"}})",
                      "application/json");
      return;
    }
    Advance(id);
    res.set_content(JobResource(id).dump(), "application/json");
  });

  server_.Post(api + "/jobs/([^/]+)/cancel",
               [this](const httplib::Request& req, httplib::Response& res) {
                 std::lock_guard lock(mu_);
                 Record(req);
                 if (!CheckAuth(req, res)) return;
                 const std::string id = req.matches[2];
                 if (!jobs_.count(id)) {
                   res.status = 404;
                   return;
                 }
                 jobs_[id]["status"] = {{"state", "DONE"},
                                        {"errorResult",
                                         {{"reason", "stopped"},
                                          {"message",
                                           "Job execution was cancelled: User "
                                           "requested cancellation"}}}};
                 res.set_content(json({{"job", jobs_[id]}}).dump(), "application/json");
               });

  server_.Get(api + "/queries/([^/]+)", [this](const httplib::Request& req,
                                               httplib::Response& res) {
    std::lock_guard lock(mu_);
    Record(req);
    if (!CheckAuth(req, res)) return;
    static const std::set<std::string> kParams = {"maxResults", "pageToken",
                                                  "timeoutMs",  "location",
                                                  "startIndex", "formatOptions.useInt64Timestamp"};
    for (auto& [k, v] : req.params)
      if (!kParams.count(k)) return Refuse(res, "getQueryResults has no parameter '" + k + "'");
    const std::string id = req.matches[2];
    if (!jobs_.count(id) || !jobs_[id]["configuration"].contains("query")) {
      res.status = 404;
      res.set_content(R"({"error":{"code":404,"message":"Not found: Job","status":"NOT_FOUND"}})",
                      "application/json");
      return;
    }
    Advance(id);
    json job = jobs_[id];
    json answer = {{"kind", "bigquery#getQueryResultsResponse"},
                   {"jobReference", job["jobReference"]},
                   {"jobComplete", job["status"]["state"] == "DONE"}};
    if (job["status"].contains("errorResult")) {
      const json& e = job["status"]["errorResult"];
      res.status = 400;
      res.set_content(
          json({{"error", {{"code", 400}, {"message", e.value("message", "")}, {"errors", {e}}}}})
              .dump(),
          "application/json");
      return;
    }
    if (answer["jobComplete"] == true) {
      size_t start = 0;
      if (req.has_param("pageToken")) start = std::stoul(req.get_param_value("pageToken"));
      size_t max =
          req.has_param("maxResults") ? std::stoul(req.get_param_value("maxResults")) : page_size_;
      size_t n = std::min({max, page_size_, rows_.size() - std::min(start, rows_.size())});
      answer["schema"] = schema_;
      answer["totalRows"] = std::to_string(rows_.size());
      json rows = json::array();
      for (size_t i = start; i < start + n; ++i) rows.push_back(rows_[i]);
      if (!rows.empty()) answer["rows"] = rows;
      if (start + n < rows_.size() && n > 0) answer["pageToken"] = std::to_string(start + n);
    }
    res.set_content(answer.dump(), "application/json");
  });
}

}  // namespace kiln::testing
