// connectors/cloud/open_warehouse.cc: OpenWarehouse (open.h), kept apart from open.cc so the
// object-store and warehouse factories grow independently.
#include "kiln/connectors/bigquery/bigquery_warehouse.h"
#include "kiln/connectors/bigquery/local_warehouse.h"
#include "kiln/connectors/cloud/open.h"
#include "kiln/connectors/google/credentials.h"

namespace kiln::connectors {
namespace {

// The credentials `auth` names (key JSON, key file or ADC); a problem with them is a
// ConfigError that also names the switch that needs none.
GoogleCredentials Credentials(const GoogleAuth& auth, const CloudServices& services) {
  const std::string& env_adc = services.google_application_credentials;
  try {
    return LoadGoogleCredentials(
        auth, env_adc.empty() ? std::nullopt : std::optional<std::string>(env_adc),
        std::filesystem::path(services.home));
  } catch (const CredentialsError& e) {
    throw config::ConfigError(std::string(e.what()) +
                              " (or run with --local-cloud DIR / KILN_LOCAL_CLOUD=DIR)");
  }
}

std::string RequireProject(const std::string& project) {
  if (project.empty()) {
    throw config::ConfigError(
        "no BigQuery project: set data_provider_database (or use a key with a project_id)");
  }
  return project;
}

}  // namespace

std::unique_ptr<Warehouse> OpenWarehouse(const GoogleAuth& auth, const std::string& project,
                                         const std::string& location, data::Engine& engine,
                                         CloudServices& services, const std::string& job_prefix) {
  if (services.mode.local()) {
    return std::make_unique<bigquery::LocalWarehouse>(
        engine, *services.mode.local_root / "bigquery.duckdb", project);
  }
  if (!services.bigquery_emulator_host.empty()) {  // no token; a key only to name the project
    std::string target = project.empty() ? Credentials(auth, services).project_id : project;
    return std::make_unique<bigquery::BigQueryWarehouse>(
        std::make_unique<bigquery::Client>(bigquery::EndpointFor(services.bigquery_emulator_host),
                                           RequireProject(target), location,
                                           bigquery::Client::TokenFn{}, services.http),
        job_prefix);
  }
  GoogleCredentials credentials = Credentials(auth, services);
  std::string target = RequireProject(project.empty() ? credentials.project_id : project);
  std::shared_ptr<GoogleTokenCache> tokens = services.google_tokens;
  HttpOptions http = services.http;
  bigquery::Client::TokenFn token = [tokens, credentials, http](bool refresh) {
    if (refresh) tokens->Invalidate(credentials);  // after a 401: one new token, one retry
    return tokens->Token(credentials, http);
  };
  return std::make_unique<bigquery::BigQueryWarehouse>(
      std::make_unique<bigquery::Client>(bigquery::Endpoint{}, std::move(target), location,
                                         std::move(token), services.http),
      job_prefix);
}

}  // namespace kiln::connectors
