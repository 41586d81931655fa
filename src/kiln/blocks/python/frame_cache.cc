#include "kiln/blocks/python/frame_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>

#include "kiln/common/error.h"

namespace kiln::blocks {
namespace fs = std::filesystem;

namespace {

std::optional<std::pair<dev_t, ino_t>> FileId(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return std::make_pair(st.st_dev, st.st_ino);
}

}  // namespace

void FrameCache::EraseLocked(std::map<std::string, Entry>::iterator it) {
  bytes_ -= it->second.bytes;
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

void FrameCache::Put(const fs::path& output_dir, SharedFrame frame, uint64_t bytes) {
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(output_dir.string()); it != entries_.end()) EraseLocked(it);
  if (bytes > budget_) return;
  while (bytes_ + bytes > budget_ && !lru_.empty()) EraseLocked(entries_.find(lru_.back()));
  lru_.push_front(output_dir.string());
  entries_[output_dir.string()] = Entry{std::move(frame), bytes, std::nullopt, lru_.begin()};
  bytes_ += bytes;
}

void FrameCache::Written(const fs::path& output_dir) {
  auto id = FileId(output_dir / "data.parquet");
  std::lock_guard lock(mu_);
  auto it = entries_.find(output_dir.string());
  if (it == entries_.end()) return;
  if (!id) {
    EraseLocked(it);
  } else {
    it->second.file = id;
  }
}

void FrameCache::Forget(const fs::path& output_dir) {
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(output_dir.string()); it != entries_.end()) EraseLocked(it);
}

SharedFrame FrameCache::Get(const data::StoredOutput& output) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(output.dir.string());
  if (it == entries_.end()) return nullptr;
  // While the file is being written the entry is its source; afterwards, only that very file.
  if (it->second.file && FileId(output.dir / "data.parquet") != it->second.file) {
    EraseLocked(it);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.frame;
}

uint64_t DefaultFrameCacheBytes(const std::optional<std::string>& setting) {
  if (setting && !setting->empty()) {
    uint64_t mib = 0;
    auto [end, ec] = std::from_chars(setting->data(), setting->data() + setting->size(), mib);
    if (ec != std::errc() || end != setting->data() + setting->size()) {
      throw Error(
          "KILN_FRAME_CACHE_MB must be a whole number of MiB (0 turns the cache off), "
          "not '" +
          *setting + "'");
    }
    return mib << 20;
  }
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return uint64_t{1} << 30;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / 8;
}

}  // namespace kiln::blocks
