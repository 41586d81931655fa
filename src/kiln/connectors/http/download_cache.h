// connectors/http/download_cache.h: the on-disk download cache (internal to http/).
// One folder per URL, `<cache_dir>/<sha256(url) hex>/`, holding the body under the URL's file
// name, `meta.json` and `.lock`. Writers hold the entry's EntryLock (an flock, so threads,
// fetcher instances and processes all exclude each other) and publish files by atomic rename:
// the body first, then meta.json, so meta.json never describes a body that is not there.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace kiln::connectors::http_internal {

//! Lower-case hex SHA-256 of `text` (64 characters).
std::string Sha256Hex(std::string_view text);

//! The current UTC time as "2021-01-01T06:30:00Z".
std::string UtcNowIso8601();

//! The contents of meta.json.
struct CacheMeta {
  std::string url;            //!< the URL as requested
  std::string etag;           //!< ETag of the cached body, as sent (quotes included); may be empty
  std::string last_modified;  //!< Last-Modified of the cached body, as sent; may be empty
  uint64_t bytes = 0;         //!< size of the body file
  std::string fetched_at;     //!< when the body was last downloaded or revalidated (UTC ISO 8601)
};

//! Identity of meta.json's current version (it is replaced by rename, so inode and mtime change
//! whenever anyone stores it).
struct MetaStamp {
  ino_t inode = 0;
  int64_t mtime_ns = 0;
  bool operator==(const MetaStamp&) const = default;
};

//! The cache folder of one URL. Cheap to construct; touches the disk only when asked.
class CacheEntry {
 public:
  CacheEntry(const std::filesystem::path& cache_dir, std::string url);

  const std::string& url() const { return url_; }
  const std::filesystem::path& dir() const { return dir_; }
  //! `<dir>/<file name of the URL>`.
  const std::filesystem::path& body_path() const { return body_path_; }
  std::filesystem::path meta_path() const { return dir_ / "meta.json"; }
  std::filesystem::path lock_path() const { return dir_ / ".lock"; }

  //! The metadata of a complete cached copy: meta.json parses, names this URL, and the body
  //! file has exactly `bytes` bytes. nullopt otherwise (nothing cached, or a damaged entry).
  std::optional<CacheMeta> Load() const;
  //! Writes meta.json atomically (unique temp file + rename). REQUIRES: the EntryLock is held.
  //! Throws std::system_error when the folder is not writable.
  void Store(const CacheMeta& meta) const;
  //! The identity of meta.json now, or nullopt when there is none.
  std::optional<MetaStamp> Stamp() const;
  //! Removes temporary files left by a writer that died (names start with ".tmp-").
  //! REQUIRES: the EntryLock is held.
  void RemoveStaleTempFiles() const;

 private:
  std::string url_;
  std::filesystem::path dir_;
  std::filesystem::path body_path_;
};

//! Exclusive ownership of one cache entry (an flock on `<dir>/.lock`), creating the folder.
//! Blocks until no other thread or process holds it.
class EntryLock {
 public:
  //! Throws std::system_error when the folder cannot be created or the lock file opened.
  explicit EntryLock(const CacheEntry& entry);
  //! Releases the lock.
  ~EntryLock();
  EntryLock(const EntryLock&) = delete;
  EntryLock& operator=(const EntryLock&) = delete;

  //! Deletes the whole entry folder (for when nothing could be cached), then releases the lock.
  //! Waiters notice the lock file is gone and start over. REQUIRES: no valid copy is cached.
  void RemoveEntry();

 private:
  const CacheEntry& entry_;
  int fd_ = -1;
};

}  // namespace kiln::connectors::http_internal
