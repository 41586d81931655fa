#include "kiln/data/engine.h"

#include "kiln/common/names.h"

namespace kiln::data {
namespace fs = std::filesystem;
namespace {

std::map<std::string, std::string> DuckDbOptions(const Engine::Options& options) {
  std::map<std::string, std::string> out;
  if (options.threads > 0) out["threads"] = std::to_string(options.threads);
  if (!options.memory_limit.empty()) out["memory_limit"] = options.memory_limit;
  if (!options.temp_directory.empty()) out["temp_directory"] = options.temp_directory.string();
  // Kiln fetches http(s) files itself; DuckDB must not try to download extensions.
  out["autoinstall_known_extensions"] = "false";
  out["autoload_known_extensions"] = "false";
  return out;
}

}  // namespace

Engine::Engine(const Options& options) : db_(":memory:", DuckDbOptions(options)) {
  admin_ = std::make_unique<Connection>(db_);
}

std::string Engine::AttachWarehouse(const fs::path& path) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(fs::absolute(path), ec);
  if (ec) canonical = fs::absolute(path).lexically_normal();
  std::lock_guard lock(mu_);
  auto it = aliases_.find(canonical.string());
  if (it != aliases_.end()) return it->second;
  std::string alias = "warehouse";
  if (!aliases_.empty()) alias += "_" + std::to_string(aliases_.size() + 1);
  if (canonical.has_parent_path()) fs::create_directories(canonical.parent_path(), ec);
  try {
    admin_->Execute("ATTACH " + QuoteLiteral(canonical.string()) + " AS " + QuoteIdentifier(alias));
  } catch (const DataError& e) {
    std::string why = e.what();
    if (why.find("lock") != std::string::npos) {
      throw DataError("DuckDB warehouse " + canonical.string() +
                      " is in use by another process (another `kiln run` or `kiln start` on this "
                      "project?): " +
                      why);
    }
    throw DataError("cannot open DuckDB warehouse " + canonical.string() + ": " + why);
  }
  aliases_.emplace(canonical.string(), alias);
  return alias;
}

}  // namespace kiln::data
