// connectors/bigquery/client.h: BigQuery's REST API v2 as Kiln uses it (docs/design/cloud.md §5):
// datasets.insert, tables.get, jobs.insert (query jobs; load jobs by resumable upload of a local
// Parquet file), jobs.get, jobs.getQueryResults, jobs.cancel. Job ids are chosen by Kiln, so an
// insert retried after a lost answer (409 duplicate) is the same job, never a second one. With
// BIGQUERY_EMULATOR_HOST set, requests go there without Authorization.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "kiln/connectors/bigquery/warehouse.h"
#include "kiln/connectors/http/http_client.h"
#include "kiln/connectors/http/retry.h"

namespace kiln::connectors::bigquery {

//! Where requests go: https://bigquery.googleapis.com, or the emulator.
struct Endpoint {
  std::string root = "https://bigquery.googleapis.com";  //!< no trailing '/'
  bool emulator = false;                                 //!< no Authorization header
};

//! The endpoint for BIGQUERY_EMULATOR_HOST (`host:port` or a URL; "" = Google's).
Endpoint EndpointFor(const std::string& emulator_host);

class Client {
 public:
  //! A bearer token; `refresh` after a 401 asks for a new one. Unused with an emulator.
  using TokenFn = std::function<std::string(bool refresh)>;

  //! Talks to `project` in `location` ("" = BigQuery's default for new datasets; jobs then
  //! carry no location).
  Client(Endpoint endpoint, std::string project, std::string location, TokenFn token,
         HttpOptions http);

  const std::string& project() const { return project_; }
  const std::string& location() const { return location_; }

  //! datasets.insert; an existing dataset (409) is success.
  void CreateDataset(const std::string& dataset);
  //! tables.get ?fields=id: true on 200, false on 404.
  bool TableExists(const TableRef& table);
  //! jobs.insert of `job` (its jobReference set by the caller). A 409 (the id exists: an
  //! earlier try of this insert went through) fetches that job instead. Returns the job.
  nlohmann::json InsertJob(const nlohmann::json& job);
  //! A load job with the bytes of `file`: POST /upload/...jobs?uploadType=resumable with `job`,
  //! then PUT the file to the session (chunks of `chunk_size`, a multiple of 256 KiB; a 308's
  //! Range says where to go on). Returns the job resource of the final answer.
  nlohmann::json InsertUploadJob(const nlohmann::json& job, const std::filesystem::path& file,
                                 const CancelFn& cancelled, uint64_t chunk_size = 8u << 20);
  //! jobs.get.
  nlohmann::json GetJob(const std::string& job_id);
  //! Polls jobs.get (0.2 s doubling to 2 s) until status.state is DONE; cancels the job and
  //! throws WarehouseError when `cancelled`. Throws WarehouseError for status.errorResult:
  //! "BigQuery job <id> (<what>) failed: <reason>: <message> (<location>)".
  nlohmann::json WaitForJob(const std::string& job_id, const std::string& what,
                            const CancelFn& cancelled);
  //! jobs.getQueryResults of one page: maxResults, pageToken ("" = first), timeoutMs; the
  //! answer's jobComplete says whether rows are there.
  nlohmann::json GetQueryResults(const std::string& job_id, const std::string& page_token,
                                 uint64_t max_results, int timeout_ms);
  //! jobs.cancel (best effort: failures are not thrown).
  void CancelJob(const std::string& job_id);

 private:
  //! Sends a JSON request (retried on transport errors, 408, 429, 5xx; a 401 refreshes the
  //! token once). Returns the response; throws WarehouseError for a transport failure.
  HttpResponse Call(const std::string& method, const std::string& url,
                    const std::optional<nlohmann::json>& body, const std::string& what,
                    const CancelFn& cancelled = {});
  //! WarehouseError "<what> failed: <reason>: <message> (HTTP n)" from an error response.
  [[noreturn]] void Fail(const std::string& what, const HttpResponse& response) const;
  void Authorize(HttpRequest& request, bool refresh) const;
  std::string ApiUrl(const std::string& path) const;

  Endpoint endpoint_;
  std::string project_, location_;
  TokenFn token_;
  HttpOptions http_;
};

//! Reads the JSON body of `response` (an empty object for an empty body). Throws
//! WarehouseError naming `what` when it is not JSON.
nlohmann::json JsonBody(const HttpResponse& response, const std::string& what);

}  // namespace kiln::connectors::bigquery
