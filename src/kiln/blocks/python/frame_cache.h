// blocks/python/frame_cache.h: recent Python block outputs kept as frames, so that a downstream
// Python block gets its upstream DataFrame without re-reading Parquet (§7.4 reads the stored
// output; the frame is the same table, byte for byte, as the data.parquet written from it).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "kiln/data/output_store.h"
#include "kiln/python/unique_fd.h"

namespace kiln::blocks {

//! A frame shared by the cache and the block runs using it; closed when the last one lets go.
using SharedFrame = std::shared_ptr<const python::UniqueFd>;

//! Frames of stored outputs, by output folder, least recently used dropped first once their
//! total size passes the budget. An entry is only returned while the output folder still holds
//! the data.parquet written from it (a later run of the block, or a SQL run of a block of the
//! same uuid, replaces the file and so invalidates the entry). Thread-safe.
class FrameCache {
 public:
  //! `budget_bytes`: the most frame bytes kept (0 keeps none).
  explicit FrameCache(uint64_t budget_bytes) : budget_(budget_bytes) {}

  //! Remembers `frame` (`bytes` long) as the table of the output in `output_dir`, whose
  //! data.parquet is being written from it; Written() or Forget() follows.
  void Put(const std::filesystem::path& output_dir, SharedFrame frame, uint64_t bytes);
  //! The data.parquet in `output_dir` is complete: from now on the entry is valid only while
  //! that same file (device and inode) is there.
  void Written(const std::filesystem::path& output_dir);
  //! Drops the entry (e.g. writing the Parquet file failed).
  void Forget(const std::filesystem::path& output_dir);
  //! The frame of `output`, or null when none is cached or the stored file changed since.
  SharedFrame Get(const data::StoredOutput& output);

 private:
  struct Entry {
    SharedFrame frame;
    uint64_t bytes = 0;
    std::optional<std::pair<dev_t, ino_t>> file;  // nullopt while being written
    std::list<std::string>::iterator lru;
  };
  void EraseLocked(std::map<std::string, Entry>::iterator it);

  const uint64_t budget_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // front: most recently used
  uint64_t bytes_ = 0;
};

//! The frame budget: KILN_FRAME_CACHE_MB when set, else an eighth of physical memory. Throws
//! kiln::Error naming the variable when it is not a whole number.
uint64_t DefaultFrameCacheBytes(const std::optional<std::string>& setting);

}  // namespace kiln::blocks
