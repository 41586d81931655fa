// tests/support/postgres_server.h: a real, throwaway PostgreSQL server for integration tests.
// Each PostgresServer is its own cluster (initdb in a fresh temp dir) listening on 127.0.0.1 at a
// free port; it is stopped and its folder removed when the object goes away. Tests that share one
// server take a database each with CreateDatabase(), and connect with ConnInfo(dbname).
//
//   PostgresServer pg;
//   std::string db = pg.CreateDatabase();
//   pg.Psql(db, "CREATE TABLE t (i int)");
//   ... run kiln with pg.ConnInfo(db) or pg.host()/port()/user()/password() ...
//   EXPECT_EQ(pg.Psql(db, "SELECT count(*) FROM t"), "3");
//
// Needs PostgreSQL's server binaries (Debian: postgresql, /usr/lib/postgresql/<version>/bin, the
// highest version found; $KILN_PG_BINDIR overrides) and, when run as root, the `postgres` OS user.
// Not thread-safe: use one object from one thread.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"

namespace kiln::testing {

//! One running PostgreSQL cluster owned by a test; tuned for speed (fsync off), not durability
//! against power loss. Killing it (Kill()) keeps every committed transaction.
class PostgresServer {
 public:
  //! Creates a cluster with initdb in a fresh temp dir (owned by the `postgres` OS user when this
  //! process runs as root -- initdb refuses root; run as the current user otherwise), with a
  //! superuser `postgres` whose password is password() (scram-sha-256 for TCP, so wrong passwords
  //! fail; trust on the unix socket), listening on 127.0.0.1 at a free port (and a unix socket in
  //! the temp dir), fsync off and small shared_buffers for speed, then starts it and waits until
  //! it accepts connections. Throws std::runtime_error with the tail of the server log when it
  //! cannot start.
  PostgresServer();
  //! Stops the server (fast shutdown, then immediate, then SIGKILL) and removes the temp dir.
  //! Never throws. A watchdog process does the same if this process dies without running it
  //! (crash, sanitizer abort, SIGKILL from a test runner's timeout).
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  std::string host() const { return "127.0.0.1"; }
  //! The TCP port; the same for the object's lifetime (Kill() and Start() keep it).
  int port() const { return port_; }
  std::string user() const { return "postgres"; }
  //! A random password (24 alphanumeric characters), different for every server.
  std::string password() const { return password_; }
  //! The cluster's data directory (PGDATA).
  const std::filesystem::path& data_dir() const { return data_dir_; }
  //! The folder holding the unix socket (`psql -h <socket_dir> -p <port>`, trust auth).
  const std::filesystem::path& socket_dir() const { return socket_dir_; }
  //! The server log (appended to across restarts), for diagnosing a failed test.
  const std::filesystem::path& log_file() const { return log_file_; }

  //! A libpq conninfo string ("host=127.0.0.1 port=... user=postgres password=... dbname=...")
  //! for `dbname` (default "postgres"), over TCP.
  std::string ConnInfo(const std::string& dbname = "postgres") const;
  //! Creates a new empty database named `<prefix>_<n>` (n counts up from 1 per server) and returns
  //! its name, so tests sharing one server do not see each other's tables.
  //! REQUIRES: `prefix` is 1-48 characters of [a-z0-9_] starting with a letter or '_' (so the name
  //! needs no quoting). Throws std::invalid_argument otherwise, std::runtime_error on failure.
  std::string CreateDatabase(const std::string& prefix = "kiln_test");
  //! Runs `sql` with psql (-X -A -t -q -v ON_ERROR_STOP=1 -c, over TCP with the password) against
  //! `dbname` and returns stdout with surrounding whitespace trimmed: one line per row, columns
  //! separated by '|', NULL as empty. Several ';'-separated statements run as one transaction.
  //! Throws std::runtime_error with psql's stderr on failure. For test assertions.
  std::string Psql(const std::string& dbname, const std::string& sql) const;

  //! Kills the server at once, like a crash: SIGKILL to the postmaster and all its processes
  //! (open connections break immediately), then waits until they are gone and the port is free.
  //! Committed transactions survive (synchronous_commit stays on). No-op when not running.
  void Kill();
  //! Starts the server on the same port and data dir (after Kill(), with crash recovery) and waits
  //! until it accepts connections. No-op when running. Throws std::runtime_error with the tail of
  //! the server log when it cannot start (e.g. another process took the port meanwhile).
  void Start();
  //! Shuts the server down cleanly (fast, then immediate, then Kill()). No-op when not running.
  void Stop();
  //! Whether the postmaster process is alive.
  bool running() const;

 private:
  //! Runs `argv` (argv[0] a path) in the temp dir, as the `postgres` OS user when we are root.
  ProcessResult RunAsServerUser(std::vector<std::string> argv) const;
  void InitCluster();
  //! One `pg_ctl start`; on failure fills `error` (with the log tail) and `port_in_use`.
  bool TryStart(std::string* error, bool* port_in_use);
  //! SIGKILLs the postmaster and its children, waits until they are gone and removes the stale
  //! lock files; does not wait for the port.
  void KillServerProcesses();
  //! The postmaster's pid from postmaster.pid (0 when absent).
  pid_t PostmasterPidFromFile() const;
  //! Forks a process that stops the server and removes the temp dir when this process dies.
  void StartWatchdog();
  //! Tells the watchdog this object cleaned up itself, so it exits without doing anything.
  void DismissWatchdog();
  //! Stop() and DismissWatchdog(), swallowing errors (destructor, failed constructor).
  void ShutDownQuietly() noexcept;

  TempDir temp_;
  std::filesystem::path bin_dir_, data_dir_, socket_dir_, log_file_;
  //! The `postgres` OS user's uid and gid when this process runs as root.
  std::optional<std::pair<uid_t, gid_t>> server_user_;
  std::string password_;
  int port_ = 0;
  pid_t postmaster_pid_ = 0;
  int databases_created_ = 0;
  int watchdog_fd_ = -1;  //!< write end of the pipe the watchdog reads; EOF means we died
};

}  // namespace kiln::testing
