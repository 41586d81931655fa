// The metadata store on SQLite: one file, WAL, one connection per MetadataStore.
#include <sqlite3.h>

#include <memory>

#include "kiln/store/sql_backend.h"

namespace kiln::store {
namespace {

struct DatabaseCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

class SqliteBackend : public SqlBackend {
 public:
  explicit SqliteBackend(const std::string& path) : path_(path) {
    sqlite3* raw = nullptr;
    const int rc =
        sqlite3_open_v2(path.c_str(), &raw,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK) {
      throw StoreError(Describe() +
                       ": cannot open: " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    }
    sqlite3_busy_timeout(db_.get(), 10000);
    Script("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
  }

  std::string Describe() const override { return "sqlite " + path_; }
  SqlDialect dialect() const override { return SqlDialect::kSqlite; }

  std::vector<SqlRow> Query(std::string_view sql, const std::vector<SqlValue>& params) override {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &raw, nullptr) !=
        SQLITE_OK) {
      Fail(sql);
    }
    StatementPtr statement(raw);
    for (size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      const int rc = params[i]
                         ? sqlite3_bind_text(statement.get(), index, params[i]->data(),
                                             static_cast<int>(params[i]->size()), SQLITE_TRANSIENT)
                         : sqlite3_bind_null(statement.get(), index);
      if (rc != SQLITE_OK) Fail(sql);
    }
    std::vector<SqlRow> rows;
    const int columns = sqlite3_column_count(statement.get());
    while (true) {
      const int rc = sqlite3_step(statement.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) Fail(sql);
      SqlRow row;
      row.reserve(columns);
      for (int c = 0; c < columns; ++c) {
        if (sqlite3_column_type(statement.get(), c) == SQLITE_NULL) {
          row.emplace_back(std::nullopt);
        } else {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement.get(), c));
          row.emplace_back(std::string(text, sqlite3_column_bytes(statement.get(), c)));
        }
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  void Script(std::string_view sql) override {
    const std::string text(sql);
    char* error = nullptr;
    if (sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error ? error : sqlite3_errmsg(db_.get());
      sqlite3_free(error);
      throw StoreError(Describe() + ": " + message);
    }
  }

  void BeginWrite() override { Script("BEGIN IMMEDIATE"); }

 private:
  [[noreturn]] void Fail(std::string_view sql) const {
    std::string statement(sql.substr(0, 60));
    throw StoreError(Describe() + ": " + sqlite3_errmsg(db_.get()) + " (in: " + statement +
                     (sql.size() > 60 ? "..." : "") + ")");
  }

  std::string path_;
  std::unique_ptr<sqlite3, DatabaseCloser> db_;
};

}  // namespace

std::unique_ptr<SqlBackend> OpenSqlite(const std::string& path) {
  return std::make_unique<SqliteBackend>(path);
}

}  // namespace kiln::store
