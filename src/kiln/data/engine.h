// data/engine.h: the DuckDB instance a Kiln process runs SQL blocks in.
// Block outputs live in Parquet files (data/output_store.h); the engine itself is an in-memory
// instance that attaches DuckDB warehouse files (io_config's DUCKDB_DATABASE) while blocks use
// them. A warehouse is attached when the first block needs it and detached when the last one
// is done, so another process (another `kiln run`) can use the file in between; while another
// process holds the file's lock, attaching waits.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kiln/data/duckdb.h"

namespace kiln::data {

class Engine;

//! Keeps one warehouse attached while it lives. Obtained from Engine::LeaseWarehouse.
class WarehouseLease {
 public:
  ~WarehouseLease();
  WarehouseLease(const WarehouseLease&) = delete;
  WarehouseLease& operator=(const WarehouseLease&) = delete;
  //! The catalog name of the warehouse in the engine (e.g. "warehouse").
  const std::string& alias() const { return alias_; }

 private:
  friend class Engine;
  WarehouseLease(Engine& engine, std::string key, std::string alias)
      : engine_(engine), key_(std::move(key)), alias_(std::move(alias)) {}
  Engine& engine_;
  std::string key_, alias_;
};

//! How long and how to wait for a warehouse file another process has locked.
struct LockWait {
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};
  std::function<void(const std::string&)> on_wait;  //!< told once that we are waiting
  std::function<bool()> cancelled;                  //!< stop waiting when it returns true
};

class Engine {
 public:
  struct Options {
    int threads = 0;                       //!< DuckDB worker threads; 0 = DuckDB's default
    std::string memory_limit;              //!< e.g. "8GB"; "" = DuckDB's default (80% of RAM)
    std::filesystem::path temp_directory;  //!< where DuckDB spills; "" = DuckDB's default
  };

  explicit Engine(const Options& options);

  const Database& database() const { return db_; }
  //! A new connection for one thread.
  std::unique_ptr<Connection> Connect() const { return std::make_unique<Connection>(db_); }

  //! Attaches the DuckDB file `path` (created when missing) unless it is attached already, and
  //! keeps it attached while the lease lives. Thread-safe. While another process holds the
  //! file's lock it retries until `wait.timeout`. Throws DataError naming the file (locked too
  //! long, cancelled, or unreadable).
  std::unique_ptr<WarehouseLease> LeaseWarehouse(const std::filesystem::path& path,
                                                 const LockWait& wait = {});

  //! The engine's own in-memory catalog, for scratch tables a block drops before it ends (e.g.
  //! rows loaded from PostgreSQL on their way to the block's Parquet output).
  static constexpr const char* kOutputCatalog = "memory";

 private:
  friend class WarehouseLease;
  void Release(const std::string& key);

  struct Attachment {
    std::string alias;
    int leases = 0;
  };
  Database db_;
  std::unique_ptr<Connection> admin_;
  std::mutex mu_;
  std::map<std::string, Attachment> attachments_;  // canonical path -> alias and users
};

}  // namespace kiln::data
