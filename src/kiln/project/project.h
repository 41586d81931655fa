// project/project.h: a Mage project folder (§1): metadata.yaml, io_config.yaml, pipelines/,
// block folders. Opening one reads the project settings; pipelines are loaded on demand.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kiln/common/environment.h"
#include "kiln/project/pipeline.h"

namespace kiln::project {

class Project {
 public:
  //! Opens the project in `root`. The project's metadata.yaml is rendered with the Jinja subset
  //! (env_var, ...) against `env`, then parsed (§1.3). Throws ProjectError when `root` is not a
  //! folder holding metadata.yaml or pipelines/, or when metadata.yaml is invalid.
  static Project Open(const std::filesystem::path& root, const Environment& env);

  //! Absolute, normalised project folder ("repo_path").
  const std::filesystem::path& root() const { return root_; }
  //! The folder's name ("repo_name").
  std::string name() const { return root_.filename().string(); }
  //! The rendered metadata.yaml as JSON (empty object when the file is absent).
  const nlohmann::json& settings() const { return settings_; }
  //! The project-wide retry_config object (null when absent).
  const nlohmann::json& retry_config() const { return retry_config_; }

  //! Pipeline uuids: folders of pipelines/ that hold a metadata.yaml, sorted.
  std::vector<std::string> PipelineUuids() const;
  //! Loads one pipeline; throws ProjectError listing the known pipelines when it does not exist.
  Pipeline LoadPipeline(const std::string& uuid) const;

 private:
  std::filesystem::path root_;
  nlohmann::json settings_ = nlohmann::json::object();
  nlohmann::json retry_config_;
};

//! Where block outputs and logs of a project go.
struct VariablesDir {
  std::filesystem::path path;          //!< absolute folder
  std::optional<std::string> warning;  //!< set when the configured folder was not writable
};

//! Picks the variables folder (§7.1): `data_dir_override` (the --data-dir flag) as given; else
//! env MAGE_DATA_DIR, else the project's `variables_dir`, else ~/.mage_data; '~' expanded;
//! relative paths resolved against the project; an absolute folder other than the project gets
//! "/<project name>" appended. When that folder is not writable, ~/.kiln_data/<project name> is
//! used and `warning` says why.
VariablesDir ResolveVariablesDir(const Project& project, const Environment& env,
                                 const std::optional<std::filesystem::path>& data_dir_override);

}  // namespace kiln::project
