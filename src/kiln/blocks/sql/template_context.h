// blocks/sql/template_context.h: the names a SQL block's text can use (§8.1 step 7, §6.3).
#pragma once

#include <string>
#include <vector>

#include "kiln/blocks/block_runner.h"
#include "kiln/template/render.h"

namespace kiln::blocks::sql {

//! Builds the render context of a SQL block: every runtime variable; execution_date (a
//! datetime), ds, hr, env, execution_partition, pipeline_run_id; pipeline_uuid, block_uuid,
//! repo_path, configuration; df_1..df_N = `df_relations` (how the database that runs the block
//! names each upstream output, in upstream_blocks order; "" for an upstream without output); and
//! the functions variables(name), block_output(uuid), env_var(name), mage_secret_var(name).
templating::Context BuildSqlContext(const BlockInvocation& invocation,
                                    const std::vector<std::string>& df_relations);

//! How messages name the block's code: its file relative to the project
//! ("transformers/clean.sql"), or "<pipeline file> (content of block 'x')" for inline content.
std::string BlockSourceName(const BlockInvocation& invocation);

//! Renders the block's SQL with BuildSqlContext. Throws BlockError "<file>:<line>: ..." on a
//! template error (an undefined name, a syntax error).
std::string RenderBlockSql(const BlockInvocation& invocation, const std::string& code,
                           const std::vector<std::string>& df_relations);

}  // namespace kiln::blocks::sql
