// connectors/object_store/dataset_export.h: a DuckDB relation written as one object, or as a
// Hive-partitioned dataset (`col=value/<name>.parquet`), onto any ObjectStore (docs/design/
// cloud.md §4). DuckDB writes the files to a staging folder; they are then uploaded in parallel,
// each all-or-nothing, so a reader never sees a partial object.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/connectors/object_store/object_store.h"
#include "kiln/data/duckdb.h"

namespace kiln::connectors {

struct DatasetOptions {
  //! Empty: one object at exactly `prefix`. Else Hive folders under `prefix`, in this order;
  //! the partition columns are not written inside the files (as DuckDB and pyarrow do).
  std::vector<std::string> partition_cols;
  std::string format = "parquet";  //!< parquet | csv | json
  //! File names inside each partition folder, DuckDB's FILENAME_PATTERN: `{i}` is the file's
  //! number, `{uuid}` a random uuid. The pyarrow stand-in passes "<guid>-{i}".
  std::string basename = "part-{i}";
  //! What happens to objects already under `prefix` (pyarrow's existing_data_behavior, DuckDB's
  //! OVERWRITE options): kOverwriteOrIgnore writes over same-named objects and keeps the others;
  //! kError refuses when anything exists under `prefix`; kDeleteMatching removes, after every
  //! upload succeeded, the other objects of each partition folder written; kReplaceAll removes
  //! every other object under `prefix` after every upload succeeded.
  enum class Existing { kOverwriteOrIgnore, kError, kDeleteMatching, kReplaceAll };
  Existing existing = Existing::kOverwriteOrIgnore;
  //! Written into each Parquet file's key-value metadata under "pandas" when not null (what
  //! pandas/pyarrow read back to restore the index and dtypes).
  nlohmann::json pandas_metadata;
  //! The folder name of a NULL partition value ("" keeps DuckDB's `NULL`; pyarrow writes
  //! "__HIVE_DEFAULT_PARTITION__").
  std::string null_partition_name;
  //! Extra options for DuckDB's COPY, e.g. "COMPRESSION zstd" ("" = DuckDB's defaults).
  std::string copy_options;
  int parallel_uploads = 8;         //!< objects uploaded at once, >= 1
  std::function<bool()> cancelled;  //!< polled between and during uploads; may be empty
  //! Where DuckDB writes the files before upload; empty = the store's own staging folder when it
  //! has one (a local folder store: same file system, so publishing is a rename), else the
  //! system temp folder. A fresh sub-folder is made and always removed.
  std::filesystem::path staging_dir;
};

struct DatasetResult {
  uint64_t rows = 0;                //!< rows written
  std::vector<ObjectInfo> objects;  //!< every object written, in key order
};

//! A fresh folder for files to upload: under `parent` when not empty, else the store's staging
//! folder when it has one, else the system temp folder. Removed with its content by the
//! destructor. Throws ObjectStoreError when it cannot be made.
class StagingFolder {
 public:
  StagingFolder(const ObjectStore& store, const std::filesystem::path& parent);
  ~StagingFolder();
  StagingFolder(const StagingFolder&) = delete;
  StagingFolder& operator=(const StagingFolder&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

//! Publishes what DuckDB wrote at `staged`: a file becomes the object `prefix`; a folder's
//! files become `prefix`/<relative path> (NULL partition folders renamed as `options` says).
//! Uploads, failure clean-up and `options.existing` as ExportDataset (kError is checked here,
//! before anything is uploaded). Returns the objects written, in key order.
std::vector<ObjectInfo> PublishStaged(ObjectStore& store, const std::string& bucket,
                                      const std::string& prefix,
                                      const std::filesystem::path& staged,
                                      const DatasetOptions& options);

//! Runs COPY (SELECT * FROM <relation_sql>) TO <staging> (FORMAT .., PARTITION_BY (..),
//! FILENAME_PATTERN ..) on `duck`, then uploads every file to `prefix`/<relative path> in
//! `bucket`, `parallel_uploads` at a time. On failure or cancellation the uploads in flight are
//! aborted, the objects this call created are deleted (best effort; an object it replaced keeps
//! the new version), nothing else is touched, and the first error is rethrown
//! (ObjectStoreError; data::DuckDbError for the COPY).
//! `prefix` must not be empty when partition_cols is empty.
DatasetResult ExportDataset(data::Connection& duck, const std::string& relation_sql,
                            ObjectStore& store, const std::string& bucket,
                            const std::string& prefix, const DatasetOptions& options);

}  // namespace kiln::connectors
