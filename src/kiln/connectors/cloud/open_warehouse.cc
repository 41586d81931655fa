// connectors/cloud/open_warehouse.cc: OpenWarehouse (open.h), kept apart from open.cc so the
// object-store and warehouse factories grow independently.
#include "kiln/connectors/bigquery/local_warehouse.h"
#include "kiln/connectors/cloud/open.h"

namespace kiln::connectors {

std::unique_ptr<Warehouse> OpenWarehouse(const GoogleAuth& auth, const std::string& project,
                                         const std::string& location, data::Engine& engine,
                                         CloudServices& services) {
  (void)location;
  if (services.mode.local()) {
    return std::make_unique<bigquery::LocalWarehouse>(
        engine, *services.mode.local_root / "bigquery.duckdb", project);
  }
  (void)auth;
  throw config::ConfigError(
      "BigQuery is only served by the local stand-in in this build: run with --local-cloud DIR / "
      "KILN_LOCAL_CLOUD=DIR");
}

}  // namespace kiln::connectors
