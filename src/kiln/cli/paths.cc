#include "kiln/cli/paths.h"

#include <unistd.h>

#include <fmt/format.h>

#include "kiln/config/dotenv.h"

namespace kiln::cli {
namespace fs = std::filesystem;

fs::path CacheDir(const Environment& env) {
  if (auto dir = env.Get("KILN_CACHE_DIR"); dir && !dir->empty()) return *dir;
  if (auto xdg = env.Get("XDG_CACHE_HOME"); xdg && !xdg->empty()) return fs::path(*xdg) / "kiln";
  return fs::path(env.Get("HOME").value_or("/tmp")) / ".cache" / "kiln";
}

Environment ProjectEnvironment(const fs::path& project) {
  Environment env = Environment::FromProcess();
  config::LoadDotEnvFiles(project, env);
  return env;
}

fs::path DuckDbTempDir(const Environment& env) {
  fs::path base = env.Get("TMPDIR").value_or("/tmp");
  return base / ("kiln-" + std::to_string(::getuid()));
}

}  // namespace kiln::cli

namespace kiln::cli {

connectors::CloudServices ProcessCloudServices(const std::string& local_cloud_flag,
                                               const Environment& env) {
  config::CloudMode mode =
      config::ResolveCloudMode(local_cloud_flag, env, std::filesystem::current_path());
  if (mode.local()) fmt::print(stderr, "kiln: {}\n", config::DescribeCloudMode(mode));
  connectors::CloudServices services = connectors::MakeCloudServices(std::move(mode), env);
  // Retries and failed aborts of cloud requests are worth seeing.
  services.http.log = [](const std::string& line) { fmt::print(stderr, "kiln: {}\n", line); };
  return services;
}

}  // namespace kiln::cli
