// connectors/postgres/server_error.h: libpq results and the server's error reports, internal to
// this folder.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace kiln::connectors::postgres {

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
//! Owns one PGresult.
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

//! `text` on one line: runs of newlines, tabs and spaces become one space; trimmed.
std::string OneLine(std::string_view text);

//! The error on `result` as one line: the server's message with its DETAIL and HINT, e.g.
//! `relation "t" does not exist (HINT: ...)`, or libpq's message for `conn` when the server sent
//! none (the connection broke). `result` may be null.
std::string ServerMessage(const PGresult* result, PGconn* conn);

//! Reads and discards `conn`'s pending results until none is left (or the connection is stuck
//! in a COPY state), so that the next statement can run.
void DrainResults(PGconn* conn);

//! Where a COPY FROM STDIN failed, from the server's CONTEXT "COPY t, line 5, column c: ...":
//! line 0 and column "" when the context names none.
struct CopyErrorPlace {
  uint64_t line = 0;
  std::string column;
};
CopyErrorPlace ParseCopyContext(const PGresult* result);

}  // namespace kiln::connectors::postgres
