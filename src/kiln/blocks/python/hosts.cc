#include "kiln/blocks/python/hosts.h"

namespace kiln::blocks {
namespace fs = std::filesystem;

PythonSetup LocatePython(const fs::path& kiln_executable, const Environment& env) {
  PythonSetup setup;
  fs::path dir = kiln_executable.parent_path();
  setup.host_executable = env.Get("KILN_PYTHON_HOST").value_or((dir / "kiln-python").string());
  if (auto path = env.Get("KILN_PYTHON_PATH"); path && !path->empty()) {
    setup.package_dir = *path;
  } else if (fs::exists(dir / "python" / "kiln_runtime")) {
    setup.package_dir = dir / "python";
  } else {
    setup.package_dir = dir.parent_path() / "share" / "kiln" / "python";
  }
  return setup;
}

python::Host& PythonHosts::For(const project::Project& project, const Environment& env) {
  std::optional<fs::path> venv;
  if (auto it = project.settings().find("python_venv");
      it != project.settings().end() && it->is_string() && !it->get<std::string>().empty()) {
    venv = it->get<std::string>();
  } else if (auto from_env = env.Get("KILN_PYTHON_VENV"); from_env && !from_env->empty()) {
    venv = *from_env;
  }
  if (venv && venv->is_relative()) venv = project.root() / *venv;
  const std::string key = project.root().string() + "\n" + (venv ? venv->string() : "");

  std::lock_guard lock(mu_);
  auto it = hosts_.find(key);
  if (it != hosts_.end()) {
    if (it->second->alive()) return *it->second;
    dead_.push_back(std::move(it->second));
    hosts_.erase(it);
  }
  python::HostOptions options;
  options.executable = setup_.host_executable;
  options.sys_path = {setup_.package_dir, project.root().parent_path(), project.root()};
  options.venv = venv;
  options.preload = {"numpy", "pandas", "mage_ai", "kiln_runtime"};
  options.fallback_path = {setup_.package_dir / "shims"};  // Kiln's pyarrow stand-in
  for (const auto& [k, v] : env.vars()) options.env[k] = v;
  options.env["MAGE_RUNTIME__REPO_PATH"] = project.root().string();
  auto host = std::make_unique<python::Host>(std::move(options));
  return *hosts_.emplace(key, std::move(host)).first->second;
}

}  // namespace kiln::blocks
