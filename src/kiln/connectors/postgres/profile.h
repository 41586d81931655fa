// connectors/postgres/profile.h: PostgreSQL connection settings from an io_config.yaml profile.
#pragma once

#include <functional>

#include "kiln/config/io_config.h"
#include "kiln/connectors/postgres/postgres.h"

namespace kiln::connectors::postgres {

//! Reads POSTGRES_HOST, POSTGRES_DBNAME, POSTGRES_USER (required), POSTGRES_PORT (default 5432),
//! POSTGRES_PASSWORD, POSTGRES_SCHEMA, POSTGRES_CONNECT_TIMEOUT (default 10 s) of `profile`
//! (§9.1). POSTGRES_SCHEMA is optional, as in the course's io_config.yaml: when it uses an
//! environment variable that is not set, `warn` is told and the schema is public. Throws
//! config::ConfigError naming the file, profile and key: a required key missing, an environment
//! variable a required key uses that is not set, a port or timeout that is not a number, a
//! POSTGRES_CONNECTION_METHOD other than direct (the SSH tunnel is not supported yet).
ConnectionSettings SettingsFromProfile(const config::IoProfile& profile,
                                       const std::function<void(const std::string&)>& warn = {});

}  // namespace kiln::connectors::postgres
