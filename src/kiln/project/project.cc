#include "kiln/project/project.h"

#include <algorithm>

#include "kiln/common/files.h"
#include "kiln/common/yaml.h"
#include "kiln/project/error.h"
#include "kiln/template/env_functions.h"
#include "kiln/template/render.h"

namespace kiln::project {
namespace fs = std::filesystem;

Project Project::Open(const fs::path& root, const Environment& env) {
  Project p;
  std::error_code ec;
  p.root_ = fs::weakly_canonical(fs::absolute(root), ec);
  if (ec) p.root_ = fs::absolute(root).lexically_normal();
  if (!fs::is_directory(p.root_)) {
    throw ProjectError(root.string() + ": no such project folder");
  }
  fs::path metadata = p.root_ / "metadata.yaml";
  if (!fs::exists(metadata) && !fs::is_directory(p.root_ / "pipelines")) {
    throw ProjectError(root.string() +
                       ": not a Mage project (no metadata.yaml and no pipelines/ folder)");
  }
  if (fs::exists(metadata)) {
    std::string text;
    try {
      text = ReadFile(metadata);
    } catch (const FileError& e) {
      throw ProjectError(e.what());
    }
    templating::Context context;
    templating::AddEnvironmentFunctions(context, env);
    std::string rendered;
    try {
      rendered = templating::Render(text, context, metadata.string());
    } catch (const templating::TemplateError& e) {
      throw ProjectError(e.what());
    }
    YAML::Node doc;
    try {
      doc = ParseYaml(rendered, metadata.string());
    } catch (const YamlError& e) {
      throw ProjectError(e.what());
    }
    if (doc.IsMap()) p.settings_ = YamlToJson(doc);
    p.retry_config_ = p.settings_.value("retry_config", nlohmann::json());
  }
  return p;
}

std::vector<std::string> Project::PipelineUuids() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_ / "pipelines", ec)) {
    if (entry.is_directory() && fs::exists(entry.path() / "metadata.yaml"))
      out.push_back(entry.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Pipeline Project::LoadPipeline(const std::string& uuid) const {
  if (uuid.empty() || uuid.find('/') != std::string::npos || uuid == "." || uuid == "..") {
    throw ProjectError("'" + uuid + "' is not a pipeline uuid (the name of a folder in " +
                       (root_ / "pipelines").string() + ")");
  }
  if (!fs::exists(root_ / "pipelines" / uuid / "metadata.yaml")) {
    std::string known;
    for (const auto& u : PipelineUuids()) known += (known.empty() ? "" : ", ") + u;
    throw ProjectError(
        (root_ / "pipelines").string() + ": no pipeline '" + uuid + "'" +
        (known.empty() ? " (the project has no pipelines)" : " (known: " + known + ")"));
  }
  return Pipeline::Load(root_, uuid);
}

VariablesDir ResolveVariablesDir(const Project& project, const Environment& env,
                                 const std::optional<fs::path>& data_dir_override) {
  std::string home = env.Get("HOME").value_or("/tmp");
  VariablesDir out;
  if (data_dir_override) {
    out.path = fs::absolute(ExpandUser(data_dir_override->string(), home)).lexically_normal();
    return out;
  }
  std::string configured = "~/.mage_data";
  if (auto mage_data_dir = env.Get("MAGE_DATA_DIR"); mage_data_dir && !mage_data_dir->empty()) {
    configured = *mage_data_dir;
  } else if (auto it = project.settings().find("variables_dir");
             it != project.settings().end() && it->is_string() && !it->get<std::string>().empty()) {
    configured = it->get<std::string>();
  }
  fs::path dir = ExpandUser(configured, home);
  if (dir.is_relative()) {
    dir = (project.root() / dir).lexically_normal();
  } else if (dir.lexically_normal() != project.root()) {
    dir = (dir / project.name()).lexically_normal();
  }
  out.path = dir;
  if (!IsWritableDir(dir)) {
    out.path = fs::path(home) / ".kiln_data" / project.name();
    out.warning = "variables_dir " + dir.string() + " is not writable; writing block outputs to " +
                  out.path.string() + " instead";
  }
  return out;
}

}  // namespace kiln::project
