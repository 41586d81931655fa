// The metadata store on PostgreSQL (KILN_DATABASE_URL / MAGE_DATABASE_CONNECTION_URL), through
// libpq. Statements are the store's own, so `?` placeholders are numbered outside quotes only.
#include <libpq-fe.h>

#include <memory>

#include "kiln/store/sql_backend.h"

namespace kiln::store {
namespace {

struct ConnectionCloser {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct ResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultClearer>;

//! `?` -> `$1`, `$2`, ... outside single-quoted literals.
std::string NumberPlaceholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  bool quoted = false;
  int next = 1;
  for (char c : sql) {
    if (c == '\'') quoted = !quoted;
    if (c == '?' && !quoted) {
      out += '$' + std::to_string(next++);
    } else {
      out += c;
    }
  }
  return out;
}

//! Mage's SQLAlchemy URL (`postgresql+psycopg2://...`) as libpq reads it.
std::string LibpqUrl(std::string url) {
  const size_t plus = url.find('+');
  const size_t scheme_end = url.find("://");
  if (plus != std::string::npos && scheme_end != std::string::npos && plus < scheme_end) {
    url.erase(plus, scheme_end - plus);
  }
  return url;
}

class PostgresBackend : public SqlBackend {
 public:
  explicit PostgresBackend(const std::string& url) {
    conn_.reset(PQconnectdb(LibpqUrl(url).c_str()));
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      std::string message = PQerrorMessage(conn_.get());
      while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
        message.pop_back();
      throw StoreError("postgresql metadata store: cannot connect: " + message);
    }
    describe_ = std::string("postgresql ") + PQuser(conn_.get()) + "@" + PQhost(conn_.get()) + ":" +
                PQport(conn_.get()) + "/" + PQdb(conn_.get());
    Script("SET TIME ZONE 'UTC'; SET client_min_messages = warning");
  }

  std::string Describe() const override { return describe_; }
  SqlDialect dialect() const override { return SqlDialect::kPostgres; }

  std::vector<SqlRow> Query(std::string_view sql, const std::vector<SqlValue>& params) override {
    const std::string text = NumberPlaceholders(sql);
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const SqlValue& p : params) values.push_back(p ? p->c_str() : nullptr);
    ResultPtr result(PQexecParams(conn_.get(), text.c_str(), static_cast<int>(values.size()),
                                  nullptr, values.data(), nullptr, nullptr, 0));
    Check(result.get(), sql);
    std::vector<SqlRow> rows;
    const int n_rows = PQntuples(result.get());
    const int n_cols = PQnfields(result.get());
    rows.reserve(n_rows);
    for (int r = 0; r < n_rows; ++r) {
      SqlRow row;
      row.reserve(n_cols);
      for (int c = 0; c < n_cols; ++c) {
        if (PQgetisnull(result.get(), r, c)) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(
              std::string(PQgetvalue(result.get(), r, c), PQgetlength(result.get(), r, c)));
        }
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  void Script(std::string_view sql) override {
    ResultPtr result(PQexec(conn_.get(), std::string(sql).c_str()));
    Check(result.get(), sql);
  }

  void BeginWrite() override { Script("BEGIN"); }

 private:
  void Check(PGresult* result, std::string_view sql) const {
    const ExecStatusType status = PQresultStatus(result);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
    std::string message = result ? PQresultErrorMessage(result) : PQerrorMessage(conn_.get());
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
      message.pop_back();
    throw StoreError(describe_ + ": " + message + " (in: " + std::string(sql.substr(0, 60)) +
                     (sql.size() > 60 ? "..." : "") + ")");
  }

  std::unique_ptr<PGconn, ConnectionCloser> conn_;
  std::string describe_;
};

}  // namespace

std::unique_ptr<SqlBackend> OpenPostgres(const std::string& url) {
  return std::make_unique<PostgresBackend>(url);
}

}  // namespace kiln::store
