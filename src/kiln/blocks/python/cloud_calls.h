// blocks/python/cloud_calls.h: the `objects.*` calls of a Python block's process
// (docs/design/cloud.md §9): mage_ai.io.google_cloud_storage / s3 and the pyarrow stand-in read
// and write gs:// and s3:// objects through connectors/cloud (OpenObjectStore), so the local
// stand-in (--local-cloud DIR) serves them exactly as it serves SQL blocks. Frames come in and go
// out as in RunnerCalls (kiln_frame over DuckDB); Parquet carries pandas' metadata so the index
// and dtypes round-trip. One CloudCalls serves one block run, on its RunnerCalls' thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/blocks/block_runner.h"
#include "kiln/data/duckdb.h"
#include "kiln/python/unique_fd.h"

namespace kiln::blocks {

class CloudCalls {
 public:
  //! `duck` is a DuckDB connection of the run's engine; `destinations` is where the places
  //! written are recorded for the run summary (RunnerCalls::destinations()). Both outlive this.
  CloudCalls(BlockInvocation& invocation, data::Connection& duck,
             std::vector<std::string>& destinations);

  //! Serves `method` (prefix "objects."): load, export, exists, write_dataset, write_file,
  //! read_table; missing_credentials (with_config found no key: a warning in local mode, else
  //! the error naming the keys and the switch); real_pyarrow (the block imported a real pyarrow:
  //! a warning in local mode). `fds` are the frames sent with the call; frames of the reply go
  //! to `out`. Throws (ObjectStoreError, ConfigError, DuckDbError, kiln::Error) with a one-line
  //! reason naming the object; RunnerCalls turns it into the call's error.
  nlohmann::json Dispatch(const std::string& method, const nlohmann::json& args,
                          std::vector<python::UniqueFd>& fds, std::vector<python::UniqueFd>& out);

 private:
  nlohmann::json Load(const nlohmann::json& args, std::vector<python::UniqueFd>& out);
  nlohmann::json Export(const nlohmann::json& args, std::vector<python::UniqueFd>& fds);
  nlohmann::json Exists(const nlohmann::json& args);
  nlohmann::json WriteDataset(const nlohmann::json& args, std::vector<python::UniqueFd>& fds);
  nlohmann::json MissingCredentials(const nlohmann::json& args);
  //! "gs://b/k", with " (local cloud: <dir>/b/k)" in local mode.
  std::string Describe(const std::string& scheme, const std::string& bucket,
                       const std::string& key) const;

  BlockInvocation& inv_;
  data::Connection& duck_;
  std::vector<std::string>& destinations_;
};

}  // namespace kiln::blocks
