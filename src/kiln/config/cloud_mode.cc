#include "kiln/config/cloud_mode.h"

#include <unistd.h>

#include <system_error>

#include "kiln/config/io_config.h"

namespace kiln::config {

CloudMode ResolveCloudMode(const std::string& flag, const Environment& env,
                           const std::filesystem::path& cwd) {
  std::string origin = "--local-cloud";
  std::string dir = flag;
  if (dir.empty()) {
    dir = env.Get("KILN_LOCAL_CLOUD").value_or("");
    origin = "KILN_LOCAL_CLOUD";
  }
  if (dir.empty()) return {};
  std::filesystem::path root(dir);
  if (root.is_relative()) root = cwd / root;
  root = root.lexically_normal();
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) {
    throw ConfigError(origin + " " + root.string() + ": cannot create the folder: " + ec.message());
  }
  if (!std::filesystem::is_directory(root)) {
    throw ConfigError(origin + " " + root.string() + " is not a folder");
  }
  if (::access(root.c_str(), W_OK | X_OK) != 0) {
    throw ConfigError(origin + " " + root.string() + " is not writable");
  }
  return CloudMode{.local_root = root};
}

std::string DescribeCloudMode(const CloudMode& mode) {
  if (!mode.local()) return "cloud: the real services (GCS, S3, BigQuery)";
  const std::string dir = mode.local_root->string();
  return "local cloud: gs:// and s3:// buckets are folders under " + dir +
         "; BigQuery datasets are schemas of " + dir + "/bigquery.duckdb";
}

}  // namespace kiln::config
