// connectors/cloud/open.h: the one place that picks a backend for gs://, s3:// and file://, and
// the only code that looks at the local-cloud switch (docs/design/cloud.md §8).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "kiln/config/io_config.h"
#include "kiln/connectors/bigquery/warehouse.h"
#include "kiln/connectors/cloud/cloud_services.h"
#include "kiln/connectors/google/auth.h"
#include "kiln/connectors/object_store/object_store.h"
#include "kiln/connectors/s3/settings.h"

namespace kiln::data {
class Engine;
}

namespace kiln::connectors {

//! Credentials for a store: none (file://, or the local stand-in), Google's or S3's.
using ObjectStoreAuth = std::variant<std::monostate, GoogleAuth, S3Settings>;

//! The store for `scheme` ("gs", "s3"). In local mode both are folders under the local root
//! (<root>/<bucket>/<key>) and `auth` is not read. Otherwise "gs" needs a GoogleAuth and "s3"
//! S3Settings. Throws ObjectStoreError (kOther) for another scheme, config::ConfigError for
//! missing credentials.
std::unique_ptr<ObjectStore> OpenObjectStore(std::string_view scheme, const ObjectStoreAuth& auth,
                                             CloudServices& services);

//! BigQuery for `project` (empty: the key's project_id; missing there -> ConfigError naming
//! data_provider_database) in `location`, or in local mode the stand-in <root>/bigquery.duckdb
//! attached on `engine` for as long as the Warehouse lives (`auth` is not read; the project is
//! `project` or "local"). BigQuery job ids are `job_prefix`_<12 hex> (blocks pass
//! "kiln_<pipeline>_<block>"). Defined in open_warehouse.cc. Throws config::ConfigError for
//! missing credentials, data::DataError when the stand-in file cannot be attached.
std::unique_ptr<Warehouse> OpenWarehouse(const GoogleAuth& auth, const std::string& project,
                                         const std::string& location, data::Engine& engine,
                                         CloudServices& services,
                                         const std::string& job_prefix = "kiln");

//! The Google auth of io_config `profile` for a gs:// or BigQuery block. In local mode a
//! profile without keys is fine: the result is empty and `warning` (when not null) says what
//! would fail without the switch. Throws config::ConfigError otherwise (GoogleAuthFromProfile).
GoogleAuth GoogleAuthForProfile(const config::IoProfile& profile, const CloudServices& services,
                                std::string* warning);

}  // namespace kiln::connectors
