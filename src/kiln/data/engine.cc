#include "kiln/data/engine.h"

#include <thread>

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

bool IsLockConflict(const std::string& message) {
  return message.find("Could not set lock") != std::string::npos ||
         message.find("Conflicting lock") != std::string::npos;
}

}  // namespace

WarehouseLease::~WarehouseLease() {
  engine_.Release(key_);
}

Engine::Engine(const Options& options) : db_(":memory:", DuckDbOptions(options)) {
  admin_ = std::make_unique<Connection>(db_);
}

std::unique_ptr<WarehouseLease> Engine::LeaseWarehouse(const fs::path& path, const LockWait& wait) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(fs::absolute(path), ec);
  if (ec) canonical = fs::absolute(path).lexically_normal();
  const std::string key = canonical.string();
  const auto deadline = std::chrono::steady_clock::now() + wait.timeout;
  bool told = false;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      Attachment& a = attachments_[key];
      if (a.alias.empty()) {
        // A stable alias per file for the life of the engine.
        a.alias = attachments_.size() == 1 ? "warehouse"
                                           : "warehouse_" + std::to_string(attachments_.size());
      }
      if (a.leases > 0) {
        ++a.leases;
        return std::unique_ptr<WarehouseLease>(new WarehouseLease(*this, key, a.alias));
      }
      if (canonical.has_parent_path()) fs::create_directories(canonical.parent_path(), ec);
      try {
        admin_->Execute("ATTACH " + QuoteLiteral(key) + " AS " + QuoteIdentifier(a.alias));
        a.leases = 1;
        return std::unique_ptr<WarehouseLease>(new WarehouseLease(*this, key, a.alias));
      } catch (const DataError& e) {
        std::string why = e.what();
        if (!IsLockConflict(why)) {
          throw DataError("cannot open DuckDB warehouse " + key + ": " + why);
        }
        if (std::chrono::steady_clock::now() >= deadline) {
          throw DataError(
              "DuckDB warehouse " + key + " is still locked by another process after " +
              std::to_string(
                  std::chrono::duration_cast<std::chrono::seconds>(wait.timeout).count()) +
              " s (another `kiln run`, `kiln start` or DuckDB session): " + why);
        }
        if (!told && wait.on_wait) {
          wait.on_wait("waiting for DuckDB warehouse " + key +
                       ", locked by another process: " + why);
          told = true;
        }
      }
    }
    if (wait.cancelled && wait.cancelled()) {
      throw DataError("cancelled while waiting for DuckDB warehouse " + key);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void Engine::Release(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = attachments_.find(key);
  if (it == attachments_.end() || --it->second.leases > 0) return;
  try {
    admin_->Execute("DETACH " + QuoteIdentifier(it->second.alias));
  } catch (const DataError&) {
    // Still attached: the next lease reuses it. Nothing is lost; the lock is held longer.
    it->second.leases = 0;
  }
}

}  // namespace kiln::data
