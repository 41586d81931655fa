// blocks/sql/sql_block.h: SQL blocks (language: sql) on DuckDB (§8).
// The block text is rendered (template_context.h), split into statements and run on a DuckDB
// connection whose default catalog is the profile's warehouse file, so unqualified names such
// as ny_taxi.yellow_taxi_data mean warehouse tables as in Mage. The last SELECT becomes the
// block's output (an in-memory table); with `data_provider_table` that output is also written to
// the warehouse under `export_write_policy`. http(s) files in DuckDB readers are downloaded first.
#pragma once

#include <optional>
#include <string>

#include "kiln/blocks/block_runner.h"

namespace kiln::blocks::sql {

//! nullopt when Kiln can run this SQL block, else why not (e.g. an unsupported data_provider).
std::optional<std::string> UnsupportedSqlReason(const project::BlockSpec& block);

class SqlBlockRunner : public BlockRunner {
 public:
  //! Runs the block's statements in order. Output: the last SELECT, materialised as
  //! memory.main."<prefix>__output_0". Throws BlockError naming the block and the statement's
  //! line when DuckDB rejects a statement, connectors::ConnectorError when an export fails.
  BlockResult Run(BlockInvocation& invocation) override;
};

}  // namespace kiln::blocks::sql
