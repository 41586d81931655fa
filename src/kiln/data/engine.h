// data/engine.h: the DuckDB instance a Kiln process runs SQL blocks in.
// An in-memory database holds block outputs while downstream blocks still need them (catalog
// "memory"); DuckDB warehouse files (io_config's DUCKDB_DATABASE) are attached on first use and
// stay attached, so one process holds each file's lock.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kiln/data/duckdb.h"

namespace kiln::data {

class Engine {
 public:
  struct Options {
    int threads = 0;                       //!< DuckDB worker threads; 0 = DuckDB's default (cores)
    std::string memory_limit;              //!< e.g. "8GB"; "" = DuckDB's default (80% of RAM)
    std::filesystem::path temp_directory;  //!< where DuckDB spills; "" = DuckDB's default
  };

  explicit Engine(const Options& options);

  const Database& database() const { return db_; }
  //! A new connection for one thread.
  std::unique_ptr<Connection> Connect() const { return std::make_unique<Connection>(db_); }

  //! Attaches the DuckDB file `path` (created when missing) on first call and returns its
  //! catalog alias; later calls return the same alias. Thread-safe. Throws DataError naming the
  //! file, e.g. when another process holds its lock.
  std::string AttachWarehouse(const std::filesystem::path& path);

  //! The catalog holding in-memory block outputs.
  static constexpr const char* kOutputCatalog = "memory";

 private:
  Database db_;
  std::unique_ptr<Connection> admin_;
  std::mutex mu_;
  std::map<std::string, std::string> aliases_;  // canonical path -> alias
};

}  // namespace kiln::data
