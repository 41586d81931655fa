#include "support/kiln_project.h"

#include "kiln/common/names.h"

namespace kiln::testing {
namespace fs = std::filesystem;

KilnProject::KilnProject() {
  root_ = temp_.path() / "project";
  data_dir_ = temp_.path() / "data";
  cache_dir_ = temp_.path() / "cache";
  Write("metadata.yaml", "project_type: standalone\n");
  fs::create_directories(root_ / "pipelines");
}

KilnProject::KilnProject(const std::string& example) {
  root_ = temp_.path() / example;
  data_dir_ = temp_.path() / "data";
  cache_dir_ = temp_.path() / "cache";
  fs::copy(SourceDir() / "examples" / example, root_, fs::copy_options::recursive);
  for (const char* artefact :
       {".kiln", "output", "warehouse.duckdb", "warehouse.duckdb.wal", ".env"})
    fs::remove_all(root_ / artefact);
  fs::create_directories(root_ / "output");
}

void KilnProject::Write(const std::string& relative, const std::string& content) const {
  fs::path p = root_ / relative;
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

ProcessResult KilnProject::Kiln(std::vector<std::string> args,
                                const std::map<std::string, std::string>& extra_env,
                                const SignalPlan& signals,
                                std::chrono::milliseconds* elapsed) const {
  args.insert(args.begin(), KilnBinary().string());
  std::map<std::string, std::string> env = {{"KILN_CACHE_DIR", cache_dir_.string()}};
  for (const auto& [k, v] : extra_env) env[k] = v;
  return RunProcess(args, env, {}, signals, elapsed);
}

ProcessResult KilnProject::Run(const std::string& pipeline, std::vector<std::string> more) const {
  std::vector<std::string> args = {"run", root_.string(), pipeline, "--data-dir",
                                   data_dir_.string()};
  args.insert(args.end(), more.begin(), more.end());
  return Kiln(args);
}

std::string KilnProject::WarehouseValue(const std::string& sql) const {
  data::Database db((root_ / "warehouse.duckdb").string(), {{"access_mode", "READ_ONLY"}});
  data::Connection conn(db);
  return conn.Query(sql).GetString(0, 0).value_or("NULL");
}

std::string KilnProject::Value(const std::string& sql) {
  data::Database db;
  data::Connection conn(db);
  return conn.Query(sql).GetString(0, 0).value_or("NULL");
}

fs::path KilnProject::OutputDir(const std::string& pipeline, const std::string& block,
                                int index) const {
  return data_dir_ / "pipelines" / pipeline / ".variables" / CleanName(block) /
         ("output_" + std::to_string(index));
}

}  // namespace kiln::testing
