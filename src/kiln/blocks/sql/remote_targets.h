// blocks/sql/remote_targets.h: `COPY ... TO 'gs://bucket/path' (...)` and `'s3://...'` in DuckDB
// SQL blocks. DuckDB cannot write to object stores here (no httpfs), so the statement runs with
// the literal replaced by a local staging path, and what DuckDB wrote (one file, or a folder of
// PARTITION_BY / PER_THREAD_OUTPUT files) is then published through connectors/object_store,
// each object all-or-nothing. DuckDB's options keep their meaning for the objects.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "kiln/blocks/block_runner.h"
#include "kiln/data/duckdb.h"

namespace kiln::blocks::sql {

//! Where a COPY statement writes, when that is an object store URI.
struct RemoteCopyTarget {
  size_t literal_offset = 0;  //!< byte offset of the opening quote of the TO literal
  size_t literal_length = 0;  //!< bytes of the literal, quotes included
  std::string uri;            //!< "gs://bucket/prefix"
  //! The COPY options written after the literal, upper-cased (for OVERWRITE / APPEND).
  std::string options_upper;
};

//! Finds `TO '<gs:// or s3:// URI>'` at the top level of a statement starting with COPY;
//! nullopt for any other statement (comments, strings and parentheses are skipped).
std::optional<RemoteCopyTarget> FindRemoteCopyTarget(const std::string& statement);

//! Whether COPY option `name` (upper case, e.g. "OVERWRITE") is on in `options_upper`: given
//! bare or followed by TRUE/1, not FALSE/0; words inside strings and comments do not count.
bool CopyOption(const std::string& options_upper, std::string_view name);

//! Runs `statement` (whose target is `target`) on `conn`, then publishes the result. Returns
//! the rows DuckDB reported. The store comes from connectors/cloud/open.h with the block's
//! data_provider_profile (GOOGLE_* keys for gs://, AWS_* for s3://). Existing objects under the
//! URI: DuckDB's rule (a folder output without OVERWRITE, OVERWRITE_OR_IGNORE or APPEND must
//! not exist), OVERWRITE replaces everything under it, OVERWRITE_OR_IGNORE writes over
//! same-named objects, APPEND adds objects with fresh names. Adds "gs://b/p (N objects)" to
//! `destinations`. Throws BlockError naming the block and the URI.
uint64_t RunRemoteCopy(BlockInvocation& invocation, data::Connection& conn,
                       const std::string& statement, const RemoteCopyTarget& target,
                       std::vector<std::string>& destinations);

}  // namespace kiln::blocks::sql
