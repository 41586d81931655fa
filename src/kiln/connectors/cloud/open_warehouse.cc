// connectors/cloud/open_warehouse.cc: OpenWarehouse (open.h), kept apart from open.cc so the
// object-store and warehouse factories grow independently.
#include <fstream>
#include <sstream>

#include "kiln/connectors/bigquery/bigquery_warehouse.h"
#include "kiln/connectors/bigquery/local_warehouse.h"
#include "kiln/connectors/cloud/open.h"

namespace kiln::connectors {
namespace {

// The key's project_id ("" when the key does not say or there is no key).
std::string KeyProject(const GoogleAuth& auth) {
  nlohmann::json key;
  if (const auto* json = std::get_if<nlohmann::json>(&auth.source)) {
    key = *json;
  } else if (const auto* path = std::get_if<std::filesystem::path>(&auth.source)) {
    std::ifstream in(*path);
    if (!in)
      throw config::ConfigError(auth.origin +
                                ": cannot read the key file (or run with --local-cloud DIR / "
                                "KILN_LOCAL_CLOUD=DIR)");
    std::stringstream text;
    text << in.rdbuf();
    key = nlohmann::json::parse(text.str(), nullptr, false);
    if (key.is_discarded()) throw config::ConfigError(auth.origin + ": the key file is not JSON");
  }
  return key.is_object() ? key.value("project_id", "") : "";
}

}  // namespace

std::unique_ptr<Warehouse> OpenWarehouse(const GoogleAuth& auth, const std::string& project,
                                         const std::string& location, data::Engine& engine,
                                         CloudServices& services, const std::string& job_prefix) {
  if (services.mode.local()) {
    return std::make_unique<bigquery::LocalWarehouse>(
        engine, *services.mode.local_root / "bigquery.duckdb", project);
  }
  std::string target = project.empty() ? KeyProject(auth) : project;
  if (target.empty()) {
    throw config::ConfigError(
        "no BigQuery project: set data_provider_database (or use a key with a project_id)");
  }
  if (!services.bigquery_emulator_host.empty()) {
    return std::make_unique<bigquery::BigQueryWarehouse>(
        std::make_unique<bigquery::Client>(bigquery::EndpointFor(services.bigquery_emulator_host),
                                           target, location, bigquery::Client::TokenFn{},
                                           HttpOptions{}),
        job_prefix);
  }
  // Google's tokens come from the shared GoogleTokenCache (branch cloud-gcs), wired at merge.
  throw config::ConfigError(
      "BigQuery without BIGQUERY_EMULATOR_HOST needs Google tokens, which this build cannot "
      "fetch yet: run with --local-cloud DIR / KILN_LOCAL_CLOUD=DIR");
}

}  // namespace kiln::connectors
