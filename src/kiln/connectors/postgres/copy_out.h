// connectors/postgres/copy_out.h: DuckDB data chunks -> PostgreSQL's binary COPY format,
// internal to this folder. Used by ExportRelation (export.cc).
//
// The stream is the 19-byte header, then per row an int16 field count and per field an int32
// length (-1 for NULL) and the big-endian payload, then the int16 trailer -1. Chunks are encoded
// column by column: one pass sizes every row, a second writes each column's fields at each row's
// cursor, so type dispatch happens once per column and chunk, never per value.
#pragma once

#include <duckdb.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kiln/connectors/postgres/types.h"

namespace kiln::connectors::postgres {

//! A growable byte buffer that does not zero what it hands out; reused across sends.
class SendBuffer {
 public:
  //! Appends `n` uninitialised bytes and returns where they start.
  char* Grow(size_t n);
  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  void clear() { size_ = 0; }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

//! One exported column: its name in PostgreSQL and the binary format of its fields.
struct EncodedColumn {
  std::string name;
  FieldEncoding encoding = FieldEncoding::kText;
};

//! Encodes the rows of a streaming DuckDB query into binary COPY data.
class CopyEncoder {
 public:
  //! `types[i]` is the DuckDB type of the query's column i (borrowed for the call).
  //! Throws PostgresError naming the column when its DuckDB type cannot be encoded as its
  //! encoding (export.cc casts in the query so that this does not happen).
  CopyEncoder(std::vector<EncodedColumn> columns, const std::vector<duckdb_logical_type>& types);
  ~CopyEncoder();

  //! Appends the stream header.
  static void WriteHeader(SendBuffer& out);
  //! Appends the stream trailer.
  static void WriteTrailer(SendBuffer& out);

  //! Appends one tuple per row of `chunk`, whose first row is row `first_row` (1-based) of the
  //! export. Throws PostgresError "row 1234, column n: value 3000000000 does not fit integer"
  //! when a value does not fit its column; `out` is then partly written and must be discarded.
  void WriteChunk(duckdb_data_chunk chunk, uint64_t first_row, SendBuffer& out);

 private:
  struct Column;
  void SizeColumn(Column& column, duckdb_vector vector, uint64_t first_row);
  void WriteColumn(Column& column, duckdb_vector vector, uint64_t first_row);

  std::vector<Column> columns_;
  idx_t rows_ = 0;                // rows of the chunk being written
  char* base_ = nullptr;          // where the chunk's tuples start in the SendBuffer
  std::vector<uint64_t> cursor_;  // per row: bytes of the chunk before its next field
};

}  // namespace kiln::connectors::postgres
