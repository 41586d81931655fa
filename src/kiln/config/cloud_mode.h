// config/cloud_mode.h: the one switch that runs every cloud block locally (docs/cloud.md):
// `--local-cloud DIR` or KILN_LOCAL_CLOUD=DIR. With it, gs:// and s3:// buckets are folders under
// DIR and BigQuery datasets are schemas of DIR/bigquery.duckdb; no credential is read.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "kiln/common/environment.h"

namespace kiln::config {

//! Where cloud blocks run. Resolved once per process (cli/) and never looked at by blocks: only
//! the connector factory (connectors/cloud/open.h) reads it.
struct CloudMode {
  std::optional<std::filesystem::path> local_root;  //!< absolute; nullopt: the real services
  bool local() const { return local_root.has_value(); }
};

//! `flag` (--local-cloud, "" when absent) wins over KILN_LOCAL_CLOUD in `env` (the process
//! environment and the project's .env). A relative folder is taken from `cwd`. The folder is
//! created when missing. Throws ConfigError naming the folder and where it came from when it
//! cannot be created or written.
CloudMode ResolveCloudMode(const std::string& flag, const Environment& env,
                           const std::filesystem::path& cwd);

//! The line Kiln prints once when the switch is on: "local cloud: gs:// and s3:// buckets are
//! folders under DIR; BigQuery datasets are schemas of DIR/bigquery.duckdb".
std::string DescribeCloudMode(const CloudMode& mode);

}  // namespace kiln::config
