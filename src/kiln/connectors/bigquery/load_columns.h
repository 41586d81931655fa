// connectors/bigquery/load_columns.h: what a relation becomes before it is loaded into BigQuery
// (or its stand-in): column names as Mage's BigQuery export writes them (spaces -> '_') and
// nanosecond timestamps cut to BigQuery's microseconds, so the Parquet a load job reads holds
// only types BigQuery documents for Parquet loads.
#pragma once

#include <string>

#include "kiln/data/duckdb.h"

namespace kiln::connectors::bigquery {

//! "(SELECT "a b" AS "a_b", CAST("t" AS TIMESTAMP) AS "t", ... FROM relation)" for
//! `relation` (a relation readable on `duck`). `changed` (may be null) is set when a name or a
//! type changed. Throws data::DataError when the relation cannot be described.
std::string LoadableSelect(data::Connection& duck, const std::string& relation, bool* changed);

}  // namespace kiln::connectors::bigquery
