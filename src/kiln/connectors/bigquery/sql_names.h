// connectors/bigquery/sql_names.h: how tables are named in a BigQuery block's SQL, for BigQuery
// itself and for the local stand-in (docs/design/cloud.md §8). GoogleSQL quotes names with
// backticks (`project.dataset.table`, `p`.`d`.`t`) and project ids may hold '-'; DuckDB knows
// neither, so the stand-in's SQL is rewritten before it runs. Nothing else of GoogleSQL is
// translated: the stand-in's errors say "local stand-in".
#pragma once

#include <string>
#include <string_view>

#include "kiln/connectors/bigquery/warehouse.h"

namespace kiln::connectors::bigquery {

//! "project.dataset.table", as Mage renders {{ df_N }} for BigQuery: no backticks.
std::string BigQueryTableName(const TableRef& t);

//! "dataset.table" for the stand-in (a DuckDB schema and table); a part that is not a plain
//! identifier is double-quoted.
std::string StandInTableName(const TableRef& t);

//! `sql` with its table names made DuckDB's, outside string literals and comments (the
//! data/sql_script scanner decides where those are):
//!  - a backtick-quoted path (`p.d.t`, `p`.`d`.`t`, `d.t`, `t`) becomes double-quoted parts,
//!    the project dropped from a three-part name: "d"."t";
//!  - an unquoted three-part name whose first part is `project` or holds '-' loses that part.
//! Everything else is kept byte for byte.
std::string RewriteForStandIn(std::string_view sql, const std::string& project);

}  // namespace kiln::connectors::bigquery
