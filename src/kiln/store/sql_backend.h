// store/sql_backend.h: the one thing the metadata store needs from a database: run a statement
// with parameters and get rows back as text. SQLite (sqlite_backend.cc) and PostgreSQL
// (postgres_backend.cc) implement it; MetadataStore holds the SQL, written once for both.
// Internal to store/: other modules use metadata_store.h.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/common/error.h"

namespace kiln::store {

//! A metadata store could not be opened, read or written, or a row was not what the caller
//! said (e.g. an unknown status). what() names the store and the statement's table.
class StoreError : public Error {
 public:
  using Error::Error;
};

//! A statement parameter or a column value: text, or nullopt for NULL. Integers travel as text
//! (both databases convert them to the column's type).
using SqlValue = std::optional<std::string>;
using SqlRow = std::vector<SqlValue>;

enum class SqlDialect { kSqlite, kPostgres };

//! One connection to the database. Not thread-safe: MetadataStore serialises its calls.
class SqlBackend {
 public:
  virtual ~SqlBackend() = default;
  //! "sqlite /path/kiln.db" or "postgresql user@host:port/db", for messages (no password).
  virtual std::string Describe() const = 0;
  virtual SqlDialect dialect() const = 0;
  //! Runs one statement whose `?` placeholders take `params` in order; returns its rows
  //! (none for statements without RETURNING). Throws StoreError with the database's message.
  virtual std::vector<SqlRow> Query(std::string_view sql, const std::vector<SqlValue>& params) = 0;
  //! Runs several statements without parameters (schema migrations). Throws StoreError.
  virtual void Script(std::string_view sql) = 0;
  //! BEGIN a transaction that takes the database's write lock at once (SQLite BEGIN IMMEDIATE,
  //! PostgreSQL BEGIN), so that two processes never interleave a read-then-write.
  virtual void BeginWrite() = 0;
};

//! Opens (creating when missing) the SQLite database at `path` in WAL mode, with foreign keys
//! on and a 10 s busy timeout (another process holding the write lock is waited for).
//! synchronous=NORMAL: a committed transaction survives the process being killed (kill -9);
//! only an operating-system crash may lose the last ones. Throws StoreError.
std::unique_ptr<SqlBackend> OpenSqlite(const std::string& path);

//! Connects to PostgreSQL with a libpq conninfo string or URL
//! (`postgresql://user:pass@host:port/db`, also SQLAlchemy's `postgresql+psycopg2://...` as Mage
//! writes MAGE_DATABASE_CONNECTION_URL), in UTC. Throws StoreError naming host, port and database
//! (never the password).
std::unique_ptr<SqlBackend> OpenPostgres(const std::string& url);

}  // namespace kiln::store
