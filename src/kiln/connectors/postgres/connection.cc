// Connecting to PostgreSQL through libpq, running statements, and the server's error reports.
#include <libpq-fe.h>

#include <mutex>
#include <string>
#include <vector>

#include "kiln/connectors/postgres/postgres.h"
#include "kiln/connectors/postgres/server_error.h"

namespace kiln::connectors::postgres {

std::string OneLine(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string ServerMessage(const PGresult* result, PGconn* conn) {
  const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  if (primary == nullptr) {
    const char* text = result ? PQresultErrorMessage(result) : "";
    if (text == nullptr || *text == '\0') text = conn ? PQerrorMessage(conn) : "";
    std::string message = OneLine(text);
    return message.empty() ? "unknown error" : message;
  }
  std::string message = OneLine(primary);
  std::string extra;
  if (const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL)) {
    extra = "DETAIL: " + OneLine(detail);
  }
  if (const char* hint = PQresultErrorField(result, PG_DIAG_MESSAGE_HINT)) {
    extra += (extra.empty() ? "HINT: " : "; HINT: ") + OneLine(hint);
  }
  return extra.empty() ? message : message + " (" + extra + ")";
}

void DrainResults(PGconn* conn) {
  while (ResultPtr result{PQgetResult(conn)}) {
    const ExecStatusType status = PQresultStatus(result.get());
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) return;
  }
}

CopyErrorPlace ParseCopyContext(const PGresult* result) {
  CopyErrorPlace place;
  const char* context = result ? PQresultErrorField(result, PG_DIAG_CONTEXT) : nullptr;
  if (context == nullptr) return place;
  // Binary COPY FROM reports "COPY <table>, line <n>, column <name>" (text formats add ": ...").
  std::string_view text(context);
  size_t copy = text.find("COPY ");
  if (copy == std::string_view::npos) return place;
  size_t line = text.find(", line ", copy);
  if (line == std::string_view::npos) return place;
  size_t p = line + 7;
  while (p < text.size() && text[p] >= '0' && text[p] <= '9') {
    place.line = place.line * 10 + static_cast<uint64_t>(text[p] - '0');
    ++p;
  }
  if (text.substr(p, 9) == ", column ") {
    size_t end = text.find_first_of(":\n", p + 9);
    place.column =
        std::string(text.substr(p + 9, end == std::string_view::npos ? end : end - p - 9));
  }
  return place;
}

std::string ConnectionSettings::Describe() const {
  return (user.empty() ? "" : user + "@") + host + ":" + std::to_string(port) + "/" + dbname;
}

struct Connection::Impl {
  ConnectionSettings settings;
  PGconn* conn = nullptr;
  std::mutex cancel_mutex;
  PGcancel* cancel = nullptr;  // guarded by cancel_mutex
};

namespace {

// Replaces every occurrence of `secret` in `text` (libpq does not echo passwords; this makes sure).
std::string Scrub(std::string text, const std::string& secret) {
  if (secret.size() < 3) return text;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
    text.replace(at, secret.size(), "***");
  }
  return text;
}

// libpq's reason without its "connection to server at "h" (ip), port p failed: " prefixes.
std::string ConnectFailureReason(const std::string& message) {
  std::string reason = message;
  for (size_t failed; (failed = reason.find("failed: ")) != std::string::npos &&
                      reason.compare(0, 10, "connection") == 0;) {
    reason = reason.substr(failed + 8);
  }
  if (reason.compare(0, 7, "FATAL: ") == 0) reason = reason.substr(7);
  return reason;
}

[[noreturn]] void ThrowConnectError(const ConnectionSettings& s, const std::string& libpq_message) {
  const std::string message = Scrub(OneLine(libpq_message), s.password);
  const std::string at = s.host + ":" + std::to_string(s.port);
  auto has = [&](const char* text) { return message.find(text) != std::string::npos; };
  if (has("password authentication failed") || has("authentication failed") ||
      has("no password supplied")) {
    std::string why = has("no password supplied") ? ": no password supplied" : "";
    throw PostgresError("authentication failed for user '" + s.user + "' (PostgreSQL at " + at +
                        "/" + s.dbname + ")" + why);
  }
  if (has("Connection refused")) {
    throw PostgresError("cannot connect to PostgreSQL at " + at + ": connection refused");
  }
  if (has("timeout expired")) {
    throw PostgresError("cannot connect to PostgreSQL at " + at + ": timed out after " +
                        std::to_string(s.connect_timeout_seconds) + " s");
  }
  throw PostgresError("cannot connect to PostgreSQL at " + at + "/" + s.dbname + ": " +
                      ConnectFailureReason(message));
}

}  // namespace

std::unique_ptr<Connection> Connection::Open(const ConnectionSettings& settings) {
  const std::string port = std::to_string(settings.port);
  const std::string timeout = std::to_string(settings.connect_timeout_seconds);
  std::vector<const char*> keys = {"host",
                                   "port",
                                   "dbname",
                                   "connect_timeout",
                                   "application_name",
                                   "keepalives",
                                   "keepalives_idle",
                                   "client_encoding"};
  std::vector<const char*> values = {settings.host.c_str(),
                                     port.c_str(),
                                     settings.dbname.c_str(),
                                     timeout.c_str(),
                                     "kiln",
                                     "1",
                                     "300",
                                     "UTF8"};
  // Unset user and password fall back to libpq's defaults (PGUSER, ~/.pgpass, ...).
  if (!settings.user.empty()) {
    keys.push_back("user");
    values.push_back(settings.user.c_str());
  }
  if (!settings.password.empty()) {
    keys.push_back("password");
    values.push_back(settings.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);

  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), 0);
  if (conn == nullptr) throw PostgresError("cannot connect to PostgreSQL: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    ThrowConnectError(settings, message);
  }
  std::unique_ptr<Connection> connection(new Connection());
  connection->impl_ = std::make_unique<Impl>();
  connection->impl_->settings = settings;
  connection->impl_->conn = conn;
  connection->impl_->cancel = PQgetCancel(conn);
  return connection;
}

Connection::~Connection() {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> lock(impl_->cancel_mutex);
    if (impl_->cancel) PQfreeCancel(impl_->cancel);
    impl_->cancel = nullptr;
  }
  PQfinish(impl_->conn);
}

void Connection::Execute(const std::string& sql) {
  ResultPtr result(PQexec(impl_->conn, sql.c_str()));
  ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
    return;
  }
  if (status == PGRES_COPY_IN) PQputCopyEnd(impl_->conn, "COPY is not run through Execute()");
  if (status == PGRES_COPY_OUT) {
    char* buffer = nullptr;
    while (PQgetCopyData(impl_->conn, &buffer, 0) > 0) PQfreemem(buffer);
  }
  if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT) {
    DrainResults(impl_->conn);
    throw PostgresError("PostgreSQL " + impl_->settings.Describe() +
                        ": COPY cannot run through Execute()");
  }
  throw PostgresError("PostgreSQL " + impl_->settings.Describe() + ": " +
                      ServerMessage(result.get(), impl_->conn));
}

std::vector<std::vector<std::optional<std::string>>> Connection::QueryText(
    const std::string& sql, const std::vector<std::string>& params) {
  return QueryTable(sql, params).rows;
}

TextTable Connection::QueryTable(const std::string& sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::string& p : params) values.push_back(p.c_str());
  ResultPtr result(PQexecParams(impl_->conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                values.data(), nullptr, nullptr, 0));
  ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    throw PostgresError("PostgreSQL " + impl_->settings.Describe() + ": " +
                        ServerMessage(result.get(), impl_->conn));
  }
  TextTable table;
  auto& rows = table.rows;
  rows.resize(PQntuples(result.get()));
  const int columns = PQnfields(result.get());
  for (int c = 0; c < columns; ++c) table.columns.emplace_back(PQfname(result.get(), c));
  for (size_t r = 0; r < rows.size(); ++r) {
    rows[r].reserve(columns);
    for (int c = 0; c < columns; ++c) {
      const int row = static_cast<int>(r);
      if (PQgetisnull(result.get(), row, c)) {
        rows[r].emplace_back(std::nullopt);
      } else {
        rows[r].emplace_back(
            std::string(PQgetvalue(result.get(), row, c), PQgetlength(result.get(), row, c)));
      }
    }
  }
  return table;
}

std::vector<std::string> Connection::DescribeColumns(const std::string& query) {
  ResultPtr prepared(PQprepare(impl_->conn, "", query.c_str(), 0, nullptr));
  if (!prepared || PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
    throw PostgresError(ServerMessage(prepared.get(), impl_->conn));
  }
  ResultPtr described(PQdescribePrepared(impl_->conn, ""));
  if (!described || PQresultStatus(described.get()) != PGRES_COMMAND_OK) {
    throw PostgresError(ServerMessage(described.get(), impl_->conn));
  }
  std::vector<std::string> names;
  for (int i = 0; i < PQnfields(described.get()); ++i)
    names.emplace_back(PQfname(described.get(), i));
  return names;
}

int Connection::BackendPid() {
  return PQbackendPID(impl_->conn);
}

void Connection::Cancel() {
  std::lock_guard<std::mutex> lock(impl_->cancel_mutex);
  if (impl_->cancel == nullptr) return;
  char error[256];
  PQcancel(impl_->cancel, error, sizeof(error));
}

const ConnectionSettings& Connection::settings() const {
  return impl_->settings;
}

PGconn* Connection::raw() {
  return impl_->conn;
}

}  // namespace kiln::connectors::postgres
