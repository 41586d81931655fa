// store/schema.h: the metadata store's tables and their migrations. Internal to store/.
#pragma once

#include "kiln/store/sql_backend.h"

namespace kiln::store {

//! The schema version this Kiln writes (the number of migrations it knows).
int SchemaVersion();

//! Brings the database to SchemaVersion() in one write transaction (concurrent callers wait for
//! each other); returns how many migrations ran (0 when up to date). Throws StoreError when a
//! migration fails (nothing is changed) or the database was written by a newer Kiln.
int Migrate(SqlBackend& db);

}  // namespace kiln::store
