// tests/support/kiln_project.h: building projects for integration tests and checking results.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "kiln/data/duckdb.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace kiln::testing {

//! A temporary project (optionally a copy of an example) plus a data dir and a cache dir, and
//! `kiln` runs against it.
class KilnProject {
 public:
  //! An empty project with a metadata.yaml.
  KilnProject();
  //! A copy of examples/<name>.
  explicit KilnProject(const std::string& example);

  const std::filesystem::path& root() const { return root_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  //! The download/DuckDB cache every kiln command of this project uses (KILN_CACHE_DIR).
  const std::filesystem::path& cache_dir() const { return cache_dir_; }
  void Write(const std::string& relative, const std::string& content) const;

  //! Runs `kiln <args...>` with the project's cache; `extra_env` added; `signals` sent while it
  //! runs; `elapsed` receives its wall time.
  ProcessResult Kiln(std::vector<std::string> args,
                     const std::map<std::string, std::string>& extra_env = {},
                     const SignalPlan& signals = {},
                     std::chrono::milliseconds* elapsed = nullptr) const;
  //! `kiln run <project> <pipeline> --data-dir <data_dir> <more...>`.
  ProcessResult Run(const std::string& pipeline, std::vector<std::string> more = {}) const;

  //! Runs `sql` on the project's warehouse.duckdb (read-only) and returns the first value.
  std::string WarehouseValue(const std::string& sql) const;
  //! Runs `sql` on an in-memory DuckDB and returns the first value (for Parquet files).
  static std::string Value(const std::string& sql);
  //! The stored output folder of a block of an ad-hoc run.
  std::filesystem::path OutputDir(const std::string& pipeline, const std::string& block,
                                  int index = 0) const;

 private:
  TempDir temp_;
  std::filesystem::path root_, data_dir_, cache_dir_;
};

}  // namespace kiln::testing
