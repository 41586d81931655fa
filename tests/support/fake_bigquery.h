// tests/support/fake_bigquery.h: a BigQuery REST API v2 stand-in on loopback (cpp-httplib) for
// contract tests. It is written from Google's documentation (REST reference of datasets.insert,
// tables.get, jobs.insert/get/getQueryResults/cancel; "API uploads" for the resumable protocol),
// not from Kiln's client: a request whose method, path, query parameters, headers or JSON body
// differ from the documented form is refused with 400 and recorded in refusals().
#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/httplib.h"

namespace kiln::testing {

class FakeBigQuery {
 public:
  struct Request {
    std::string method, path;
    std::multimap<std::string, std::string> params;
    nlohmann::json body;        //!< parsed JSON body (null when not JSON)
    std::string authorization;  //!< the Authorization header ("" when absent)
    std::string content_range;
    size_t bytes = 0;
  };
  //! `emulator`: requests must come without Authorization (BIGQUERY_EMULATOR_HOST); else each
  //! must carry "Bearer <token>".
  explicit FakeBigQuery(bool emulator = false, std::string token = "test-token");
  ~FakeBigQuery();

  //! "http://127.0.0.1:<port>"
  std::string root() const;
  std::vector<Request> requests();
  std::vector<std::string> refusals();

  // -- what the fake holds and how it behaves (call before the client runs) ---------------
  void AddDataset(const std::string& project, const std::string& dataset);
  void AddTable(const std::string& project, const std::string& dataset, const std::string& table);
  //! Results of every query job: schema {"fields": [...]} and rows [{f:[{v}]}], served in pages
  //! of `page_size` rows with pageToken.
  void SetQueryResult(nlohmann::json schema, nlohmann::json rows, size_t page_size);
  //! Jobs finish after this many jobs.get / getQueryResults calls (0: at once).
  void SetPollsBeforeDone(int polls);
  //! Jobs never finish (until cancelled).
  void SetJobsNeverFinish(bool never);
  //! Upload sessions answer every chunk with a 308 that keeps none of it (a broken proxy).
  void SetUploadsKeepNothing(bool keep_nothing);
  //! The next job that finishes carries this status.errorResult.
  void FailNextJob(nlohmann::json error_result);
  //! The next jobs.insert creates its job but answers 503, as if the answer were lost.
  void LoseNextInsertAnswer();
  //! outputRows a load job reports.
  void SetLoadRows(uint64_t rows);

  //! Bytes received by the upload session of a job, keyed by job id.
  std::map<std::string, std::string> uploads();
  //! Jobs by id (their configuration, status).
  std::map<std::string, nlohmann::json> jobs();

 private:
  struct Session {
    nlohmann::json job;
    uint64_t total = 0;
    std::string bytes;
  };
  void Refuse(httplib::Response& res, const std::string& why);
  bool CheckAuth(const httplib::Request& req, httplib::Response& res);
  void Record(const httplib::Request& req);
  nlohmann::json JobResource(const std::string& id);
  void Advance(const std::string& id);
  bool ValidJob(const nlohmann::json& job, const std::string& project, bool upload,
                std::string& why);
  void Serve();

  bool emulator_;
  std::string token_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::vector<Request> requests_;
  std::vector<std::string> refusals_;
  std::set<std::string> datasets_, tables_;
  std::map<std::string, nlohmann::json> jobs_;
  std::map<std::string, int> polls_;
  std::map<std::string, Session> sessions_;
  std::map<std::string, std::string> uploads_;
  nlohmann::json schema_ = {{"fields", nlohmann::json::array()}};
  nlohmann::json rows_ = nlohmann::json::array();
  size_t page_size_ = 10'000;
  int polls_before_done_ = 0;
  bool never_finish_ = false;
  bool keep_nothing_ = false;
  nlohmann::json next_error_;
  bool lose_next_insert_ = false;
  uint64_t load_rows_ = 0;
  int next_session_ = 1;
};

}  // namespace kiln::testing
