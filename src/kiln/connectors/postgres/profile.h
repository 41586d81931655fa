// connectors/postgres/profile.h: PostgreSQL connection settings from an io_config.yaml profile.
#pragma once

#include "kiln/config/io_config.h"
#include "kiln/connectors/postgres/postgres.h"

namespace kiln::connectors::postgres {

//! Reads POSTGRES_HOST, POSTGRES_DBNAME, POSTGRES_USER (required), POSTGRES_PORT (default 5432),
//! POSTGRES_PASSWORD, POSTGRES_SCHEMA, POSTGRES_CONNECT_TIMEOUT (default 10 s) of `profile`
//! (§9.1). Throws config::ConfigError naming the file, profile and key: a required key missing,
//! an environment variable a key uses that is not set, a port or timeout that is not a number.
ConnectionSettings SettingsFromProfile(const config::IoProfile& profile);

}  // namespace kiln::connectors::postgres
