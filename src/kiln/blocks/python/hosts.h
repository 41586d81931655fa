// blocks/python/hosts.h: the warm Python hosts of a kiln process, one per project (and venv).
// Started on the first Python block of a project, so runs without Python blocks never start one.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kiln/common/environment.h"
#include "kiln/project/project.h"
#include "kiln/python/host.h"

namespace kiln::blocks {

//! Where Kiln's Python pieces are: the kiln-python binary and the folder holding the mage_ai and
//! kiln_runtime packages.
struct PythonSetup {
  std::filesystem::path host_executable;
  std::filesystem::path package_dir;
};

//! Finds the Python pieces next to `kiln_executable` (build tree: <dir>/kiln-python and
//! <dir>/python; installed: <dir>/kiln-python and <dir>/../share/kiln/python), unless
//! KILN_PYTHON_HOST / KILN_PYTHON_PATH in `env` name them.
PythonSetup LocatePython(const std::filesystem::path& kiln_executable, const Environment& env);

class PythonHosts {
 public:
  explicit PythonHosts(PythonSetup setup) : setup_(std::move(setup)) {}

  //! The host for `project`: sys.path holds Kiln's packages, the project's parent folder and the
  //! project folder (project-local modules import, as in Mage); the project's virtualenv
  //! (`python_venv` in metadata.yaml, else KILN_PYTHON_VENV; relative to the project) makes its
  //! packages importable; numpy, pandas, mage_ai and kiln_runtime are imported once. The host's
  //! environment is `env` (the process environment plus the project's .env files).
  //! A host that died is replaced by a new one. Thread-safe. Throws python::HostError (e.g.
  //! kiln-python missing, a venv of another Python).
  python::Host& For(const project::Project& project, const Environment& env);

 private:
  PythonSetup setup_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<python::Host>> hosts_;  // project root + venv -> host
  // Hosts that died (e.g. killed by the OOM killer); kept until the end, since a block still
  // waiting on one of their children holds a reference.
  std::vector<std::unique_ptr<python::Host>> dead_;
};

}  // namespace kiln::blocks
