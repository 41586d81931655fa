// python/frame.h: tables handed between the runner and a Python block's process.
// A frame is a memfd holding one table in Kiln's column layout. The runner writes one from a
// DuckDB relation (a block's inputs) and reads one into a DuckDB table (a block's outputs); the
// Python side (embedded/frame_numpy.h) turns one into a pandas DataFrame and back, without CSV,
// without pyarrow, and without per-value copies of fixed-width columns. The Python process never
// opens DuckDB (opening one costs ~22 ms, more than a block's whole budget).
//
// Layout (integers little-endian):
//   bytes 0..7     magic "KLNFRM01"
//   bytes 8..15    header length H (uint64)
//   bytes 16..16+H header: UTF-8 JSON, below
//   then the buffers, each at a 64-byte aligned offset from the start of the file.
// Header:
//   {"rows": N,
//    "columns": [{"name": "VendorID", "kind": "int64", "pandas_dtype": "Int64", "tz": null,
//                 "data": [offset, bytes], "validity": [offset, bytes] or null,
//                 "offsets": [offset, bytes] or null}, ...],
//    "index": {"columns": ["__index_level_0__"], "names": [null]} or null}
// Kinds and their buffers (N = rows):
//   int64      data int64[N]
//   float64    data float64[N]                      (NULL is a 0 in validity, not a NaN)
//   bool       data uint8[N], 0 or 1
//   string     offsets int64[N+1] into data, data UTF-8 bytes
//   json       as string; each value is a JSON document (dicts, lists, nested values)
//   timestamp  data int64[N], nanoseconds since 1970-01-01; with "tz" an instant (UTC), without
//              a wall-clock time
//   date       data int32[N], days since 1970-01-01
//   validity   uint8[N], 1 = a value, 0 = NULL; absent when there is no NULL
// "pandas_dtype" is the dtype the Python side builds (str(dtype) as pandas prints it: "Int64",
// "int64", "float64", "boolean", "bool", "object", "datetime64[ns]", "datetime64[ns, UTC]",
// "category", ...). "index" lists the columns (also in "columns") that form the DataFrame's
// index, with the index's level names; null for a default RangeIndex.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "kiln/common/error.h"
#include "kiln/data/duckdb.h"
#include "kiln/python/unique_fd.h"

namespace kiln::python {

//! A frame could not be written or read (malformed, a type that has no frame kind, memfd/mmap
//! failures). what() names the column when one is concerned.
class FrameError : public Error {
 public:
  using Error::Error;
};

struct FrameColumnInfo {
  std::string name;
  std::string kind;          //!< int64, float64, bool, string, json, timestamp, date
  std::string pandas_dtype;  //!< e.g. "Int64"
  std::string tz;            //!< "" for none
};

struct FrameInfo {
  uint64_t rows = 0;
  std::vector<FrameColumnInfo> columns;
  nlohmann::json index;  //!< {"columns": [...], "names": [...]} or null
};

//! Computes `relation_sql` (a DuckDB relation readable on `duck`) into a new frame, streaming
//! chunk by chunk. DuckDB types map to kinds: BOOLEAN -> bool; TINYINT..BIGINT, UTINYINT..
//! UINTEGER -> int64; UBIGINT, HUGEINT, DECIMAL, FLOAT, DOUBLE -> float64; VARCHAR, ENUM, UUID,
//! TIME, INTERVAL, BLOB (as text) -> string; JSON, LIST, STRUCT, MAP, ARRAY -> json;
//! TIMESTAMP (any precision) -> timestamp; TIMESTAMPTZ -> timestamp with tz "UTC"; DATE -> date.
//! `pandas_dtypes` (column name -> dtype, e.g. an output's data_column_types.json) chooses the
//! dtype per column; a missing column gets Kiln's default for its type (data/output_store.h
//! PandasDtypeFor: integers "Int64", VARCHAR "object", ...). `index` ({"columns", "names"} or
//! null) names the columns that form the index. Returns the frame (a sealed memfd) and its info.
//! Throws data::DataError (DuckDB) or FrameError.
std::pair<UniqueFd, FrameInfo> WriteFrame(data::Connection& duck, const std::string& relation_sql,
                                          const nlohmann::json& pandas_dtypes,
                                          const nlohmann::json& index);

//! The info of the frame in `fd`, from its header alone (e.g. to see that a frame has no columns,
//! which no DuckDB table can hold, before ReadFrameIntoTable). Throws FrameError when malformed.
FrameInfo ReadFrameInfo(int fd);

//! Makes the table function kiln_frame(fd BIGINT) available on the database of `duck` (once:
//! later calls return at once). kiln_frame(fd) is the frame in `fd`, a sealed memfd of this
//! process that must stay open while a query reads it, as rows in the frame's order, scanned
//! from its buffers without a copy into a table: int64 -> BIGINT, float64 -> DOUBLE,
//! bool -> BOOLEAN, string -> VARCHAR, json -> JSON, timestamp -> TIMESTAMP (microseconds;
//! TIMESTAMPTZ with tz), date -> DATE, validity -> NULLs. A malformed frame fails the query with
//! the FrameError text. Throws data::DataError when the function cannot be registered.
void RegisterFrameScan(data::Connection& duck);

//! "kiln_frame(<fd>)": the frame in `fd` as a relation for SQL text (see RegisterFrameScan).
std::string FrameRelationSql(int fd);

//! Creates the DuckDB table `duck_table` (a qualified, quoted name) holding the rows of the
//! frame in `fd` (CREATE TABLE AS SELECT from kiln_frame; types as RegisterFrameScan says).
//! Returns the frame's info (for data_column_types.json and the index).
//! Throws FrameError naming the problem for a malformed frame, data::DataError (DuckDB).
FrameInfo ReadFrameIntoTable(int fd, data::Connection& duck, const std::string& duck_table);

}  // namespace kiln::python
