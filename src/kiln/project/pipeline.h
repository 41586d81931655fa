// project/pipeline.h: a pipeline as `pipelines/<uuid>/metadata.yaml` declares it (§2), and the
// checks a pipeline must pass before it runs (DAG, files).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kiln/project/block.h"

namespace kiln::project {

//! A problem found in a pipeline. `message` is complete: "<file>:<line>: <what>".
struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  std::string block_uuid;  //!< the block it is about ("" for the pipeline itself)
  std::string message;
};

class Pipeline {
 public:
  //! Loads `<project_root>/pipelines/<uuid>/metadata.yaml`. The uuid is the folder name (§2).
  //! Throws ProjectError ("<file>:<line>: ...") when the file is missing or not YAML, a block
  //! has no uuid or type, a type or language is not Mage's, or two blocks share a uuid.
  static Pipeline Load(const std::filesystem::path& project_root, const std::string& uuid);

  const std::string& uuid() const { return uuid_; }
  const std::string& name() const { return name_; }
  //! Mage's pipeline type: python (batch, the default), integration, streaming, ...
  const std::string& type() const { return type_; }
  const std::string& description() const { return description_; }
  const std::filesystem::path& metadata_path() const { return metadata_path_; }
  //! Entries of `blocks:` in file order, executable or not.
  const std::vector<BlockSpec>& blocks() const { return blocks_; }
  //! Entries of `callbacks:`, `conditionals:`, `widgets:` and `extensions.*.blocks`.
  const std::vector<BlockSpec>& addon_blocks() const { return addon_blocks_; }
  //! Global (pipeline) variables: an object, or null when the key is absent.
  const nlohmann::json& variables() const { return variables_; }
  //! The whole file as JSON, unknown keys included.
  const nlohmann::json& raw() const { return raw_; }
  //! concurrency_config.block_run_limit (§2.6): at most this many blocks of one run at once;
  //! nullopt when absent or not a positive integer.
  std::optional<int> BlockRunLimit() const;

  //! The block (from any list) with `uuid`, or nullptr.
  const BlockSpec* FindBlock(std::string_view uuid) const;
  //! Blocks of `blocks:` that run in pipeline runs (no charts, markdown, scratchpads).
  std::vector<const BlockSpec*> ExecutableBlocks() const;
  //! Executable blocks ordered so that every block comes after its upstream blocks; ties keep
  //! file order. REQUIRES: Validate() reported no cycle.
  std::vector<const BlockSpec*> TopologicalOrder() const;
  //! Checks what Load() does not: unknown upstream uuids, cycles, missing block files (errors),
  //! upstream/downstream lists that disagree (warnings; upstream_blocks is trusted).
  std::vector<Diagnostic> Validate() const;

 private:
  std::string uuid_, name_, type_ = "python", description_;
  std::filesystem::path metadata_path_;
  std::vector<BlockSpec> blocks_;
  std::vector<BlockSpec> addon_blocks_;
  nlohmann::json variables_;
  nlohmann::json raw_;
};

//! Resolves the code file of `block` (§1.1): `configuration.file_path` when set (relative to the
//! project, with or without a leading project-name component), else
//! `<root>/<type folder>/<uuid>.<ext>` where a '/' in the uuid is a subfolder.
std::filesystem::path ResolveBlockFile(const std::filesystem::path& project_root,
                                       const BlockSpec& block);

}  // namespace kiln::project
