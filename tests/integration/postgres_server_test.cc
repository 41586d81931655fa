// PostgresServer (tests/support/postgres_server.h): the throwaway PostgreSQL server that tests
// of Kiln's PostgreSQL connector run against, checked with libpq as a client would use it.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <thread>

#include "support/postgres_server.h"
#include "support/temp_dir.h"

namespace kiln::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::ThrowsMessage;

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;

Connection Connect(const std::string& conninfo) {
  return Connection(PQconnectdb(conninfo.c_str()), &PQfinish);
}

//! The first value of `sql`'s result on `conn`, or "ERROR: <message>".
std::string Value(PGconn* conn, const std::string& sql) {
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn, sql.c_str()), &PQclear);
  if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
    return std::string("ERROR: ") + PQerrorMessage(conn);
  }
  return PQgetvalue(res.get(), 0, 0);
}

//! Polls `done` every 50 ms for up to 20 s.
bool Eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 400; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

bool AcceptsConnections(int port) {
  Connection conn = Connect("host=127.0.0.1 connect_timeout=5 dbname=postgres user=postgres port=" +
                            std::to_string(port));
  // A password request means something listens: only a refused connection counts as down.
  return std::string(PQerrorMessage(conn.get())).find("Connection refused") == std::string::npos;
}

// One server shared by the tests that neither stop it nor depend on its other databases.
class PostgresServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<PostgresServer>(); }
  static void TearDownTestSuite() { server_.reset(); }
  static std::unique_ptr<PostgresServer> server_;
};
std::unique_ptr<PostgresServer> PostgresServerTest::server_;

TEST_F(PostgresServerTest, AcceptsThePostgresUserWithItsPasswordOverTcp) {
  Connection conn = Connect(server_->ConnInfo());
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  EXPECT_EQ(Value(conn.get(), "SELECT current_user"), "postgres");
  EXPECT_EQ(Value(conn.get(), "SELECT inet_server_port()"), std::to_string(server_->port()));
}

TEST_F(PostgresServerTest, RejectsAWrongPasswordOverTcp) {
  Connection conn = Connect("host=" + server_->host() + " port=" + std::to_string(server_->port()) +
                            " user=postgres password=wrong dbname=postgres");
  EXPECT_EQ(PQstatus(conn.get()), CONNECTION_BAD);
  EXPECT_THAT(PQerrorMessage(conn.get()),
              HasSubstr("password authentication failed for user \"postgres\""));
}

TEST_F(PostgresServerTest, AcceptsTheUnixSocketWithoutAPassword) {
  Connection conn = Connect("host=" + server_->socket_dir().string() + " port=" +
                            std::to_string(server_->port()) + " user=postgres dbname=postgres");
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  EXPECT_EQ(Value(conn.get(), "SELECT 1"), "1");
}

TEST_F(PostgresServerTest, CreateDatabaseGivesEachCallAnIsolatedDatabase) {
  const std::string first = server_->CreateDatabase();
  const std::string second = server_->CreateDatabase();
  EXPECT_NE(first, second);
  server_->Psql(first, "CREATE TABLE trips (id int); INSERT INTO trips VALUES (1), (2)");

  EXPECT_EQ(server_->Psql(first, "SELECT count(*) FROM trips"), "2");
  EXPECT_EQ(server_->Psql(second, "SELECT to_regclass('trips') IS NULL"), "t");
  Connection conn = Connect(server_->ConnInfo(second));
  EXPECT_THAT(Value(conn.get(), "SELECT count(*) FROM trips"),
              HasSubstr("relation \"trips\" does not exist"));
}

TEST_F(PostgresServerTest, CreateDatabaseNamesStartWithThePrefix) {
  EXPECT_THAT(server_->CreateDatabase("exports"), ::testing::StartsWith("exports_"));
  EXPECT_THROW(server_->CreateDatabase("Bad-Name"), std::invalid_argument);
}

TEST_F(PostgresServerTest, PsqlReturnsRowsAsPipeSeparatedLines) {
  EXPECT_EQ(server_->Psql("postgres", "SELECT 1, 'a' UNION ALL SELECT 2, NULL ORDER BY 1"),
            "1|a\n2|");
}

TEST_F(PostgresServerTest, PsqlThrowsWithTheServerError) {
  EXPECT_THAT(
      [] { server_->Psql("postgres", "SELECT * FROM no_such_table"); },
      ThrowsMessage<std::runtime_error>(HasSubstr("relation \"no_such_table\" does not exist")));
}

TEST_F(PostgresServerTest, RunsWithoutFsyncInUtc) {
  EXPECT_EQ(server_->Psql("postgres", "SHOW fsync"), "off");
  EXPECT_EQ(server_->Psql("postgres", "SHOW synchronous_commit"), "on");
  EXPECT_EQ(server_->Psql("postgres", "SHOW TimeZone"), "UTC");
}

// Tests that stop, kill or destroy their server get one of their own.
TEST(PostgresServerLifecycleTest, RowsCommittedBeforeKillSurviveStart) {
  PostgresServer server;
  const std::string db = server.CreateDatabase();
  server.Psql(db, "CREATE TABLE t AS SELECT i FROM generate_series(1, 1000) i");
  server.Psql(db, "INSERT INTO t VALUES (1001)");  // the last commit before the crash

  server.Kill();
  EXPECT_FALSE(server.running());
  EXPECT_FALSE(AcceptsConnections(server.port()));
  server.Start();

  EXPECT_TRUE(server.running());
  EXPECT_EQ(server.Psql(db, "SELECT count(*) FROM t"), "1001");
  EXPECT_EQ(server.Psql(db, "SHOW port"), std::to_string(server.port()));
}

TEST(PostgresServerLifecycleTest, KillBreaksACopyInProgressAndKeepsNoneOfItsRows) {
  PostgresServer server;
  const std::string db = server.CreateDatabase();
  server.Psql(db, "CREATE TABLE t (i int)");
  Connection conn = Connect(server.ConnInfo(db));
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  PQclear(PQexec(conn.get(), "COPY t FROM STDIN"));
  const std::string rows = "1\n2\n3\n";
  ASSERT_EQ(PQputCopyData(conn.get(), rows.data(), static_cast<int>(rows.size())), 1);
  ASSERT_EQ(PQflush(conn.get()), 0);

  server.Kill();

  // libpq sees the broken connection at the latest when it ends the COPY.
  PQputCopyData(conn.get(), rows.data(), static_cast<int>(rows.size()));
  PQputCopyEnd(conn.get(), nullptr);
  ExecStatusType status = PGRES_COMMAND_OK;
  while (PGresult* res = PQgetResult(conn.get())) {
    status = PQresultStatus(res);
    PQclear(res);
    if (PQstatus(conn.get()) == CONNECTION_BAD) break;
  }
  EXPECT_NE(status, PGRES_COMMAND_OK);
  EXPECT_EQ(PQstatus(conn.get()), CONNECTION_BAD) << PQerrorMessage(conn.get());
  server.Start();
  EXPECT_EQ(server.Psql(db, "SELECT count(*) FROM t"), "0");
}

TEST(PostgresServerLifecycleTest, StopThenStartKeepsTheDataAndThePort) {
  PostgresServer server;
  server.Psql("postgres", "CREATE TABLE kept AS SELECT 42 AS answer");
  server.Stop();
  EXPECT_FALSE(server.running());
  server.Start();
  EXPECT_EQ(server.Psql("postgres", "SELECT answer FROM kept"), "42");
}

TEST(PostgresServerLifecycleTest, StartThrowsWithTheServerLogWhenAnotherProcessTookThePort) {
  PostgresServer server;
  server.Kill();
  int squatter = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(server.port()));
  ASSERT_EQ(::bind(squatter, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(squatter, 1), 0);

  EXPECT_THAT([&] { server.Start(); },
              ThrowsMessage<std::runtime_error>(HasSubstr("Address already in use")));
  EXPECT_FALSE(server.running());
  ::close(squatter);
}

TEST(PostgresServerLifecycleTest, TwoServersRunSideBySideOnDifferentPorts) {
  PostgresServer a;
  PostgresServer b;
  EXPECT_NE(a.port(), b.port());
  EXPECT_NE(a.password(), b.password());
  a.Psql("postgres", "CREATE TABLE only_in_a (i int)");

  EXPECT_EQ(a.Psql("postgres", "SELECT to_regclass('only_in_a') IS NULL"), "f");
  EXPECT_EQ(b.Psql("postgres", "SELECT to_regclass('only_in_a') IS NULL"), "t");
  EXPECT_EQ(b.Psql("postgres", "SHOW port"), std::to_string(b.port()));
}

TEST(PostgresServerLifecycleTest, DestructorStopsTheServerAndRemovesItsFolder) {
  int port = 0;
  fs::path data_dir;
  {
    PostgresServer server;
    port = server.port();
    data_dir = server.data_dir();
    ASSERT_TRUE(fs::exists(data_dir / "PG_VERSION"));
  }
  EXPECT_FALSE(fs::exists(data_dir.parent_path()));
  EXPECT_FALSE(AcceptsConnections(port));
}

// A test process that dies without running destructors (crash, sanitizer abort, a runner's
// timeout) must not leave its server behind: the watchdog shuts it down and removes its folder.
TEST(PostgresServerDeathTest, AProcessKilledWhileHoldingAServerLeavesNoServerBehind) {
  TempDir shared;
  const fs::path report = shared.path() / "server";
  EXPECT_EXIT(
      {
        PostgresServer server;
        std::ofstream(report) << server.port() << " " << server.data_dir().parent_path().string();
        ::raise(SIGKILL);
      },
      ::testing::KilledBySignal(SIGKILL), "");
  int port = 0;
  std::string folder;
  std::ifstream(report) >> port >> folder;
  ASSERT_GT(port, 0) << "the child did not start its server";
  EXPECT_TRUE(Eventually([&] { return !fs::exists(folder); })) << folder;
  EXPECT_TRUE(Eventually([&] { return !AcceptsConnections(port); })) << "port " << port;
}

}  // namespace
}  // namespace kiln::testing
