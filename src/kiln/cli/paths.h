// cli/paths.h: where the kiln process keeps its caches and scratch files.
#pragma once

#include <filesystem>

#include "kiln/common/environment.h"
#include "kiln/connectors/cloud/cloud_services.h"

namespace kiln::cli {

//! $KILN_CACHE_DIR, else $XDG_CACHE_HOME/kiln, else ~/.cache/kiln (downloads, DuckDB builds).
std::filesystem::path CacheDir(const Environment& env);
//! A folder for DuckDB to spill to when outputs outgrow memory: <tmp>/kiln-<uid>.
std::filesystem::path DuckDbTempDir(const Environment& env);

//! The environment a project's files and blocks see: the process environment, plus the
//! project's `.env` and its parent's `.env` for variables the process does not set
//! (config/dotenv.h). Throws config::ConfigError for a malformed .env line.
Environment ProjectEnvironment(const std::filesystem::path& project);

//! The cloud services of this process: `local_cloud_flag` (--local-cloud) or KILN_LOCAL_CLOUD
//! resolved against the working directory, announced once on stderr when on.
connectors::CloudServices ProcessCloudServices(const std::string& local_cloud_flag,
                                               const Environment& env);

}  // namespace kiln::cli
