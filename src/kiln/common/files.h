// common/files.h: file-system operations with the guarantees Kiln promises users:
// a file written here is either absent, the old version, or complete; never half-written.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "kiln/common/error.h"

namespace kiln {

//! A file could not be read, written or renamed; what() names the path and the OS reason.
class FileError : public Error {
 public:
  using Error::Error;
};

//! Reads the whole file. Throws FileError naming `path` when it cannot be read.
std::string ReadFile(const std::filesystem::path& path);

//! Writes `content` to a temporary file next to `path`, fsyncs it and renames it over `path`
//! (atomic on POSIX). Creates missing parent folders. Throws FileError on failure, leaving any
//! previous `path` untouched.
void WriteFileAtomic(const std::filesystem::path& path, std::string_view content);

//! A unique temporary sibling name for `path` ("<name>.tmp-<pid>-<n>"), for write-then-rename.
std::filesystem::path TempSibling(const std::filesystem::path& path);

//! Removes the file `path` (if any) when it goes out of scope, for scratch files that must not
//! outlive the code that wrote them; errors are ignored.
class RemoveOnExit {
 public:
  explicit RemoveOnExit(std::filesystem::path path) : path_(std::move(path)) {}
  ~RemoveOnExit() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  RemoveOnExit(const RemoveOnExit&) = delete;
  RemoveOnExit& operator=(const RemoveOnExit&) = delete;

 private:
  std::filesystem::path path_;
};

//! Expands a leading "~" or "~/" with $HOME (given by the caller's environment).
std::filesystem::path ExpandUser(std::string_view path, std::string_view home);

//! True when `dir` exists or can be created and a file can be created inside it.
bool IsWritableDir(const std::filesystem::path& dir);

}  // namespace kiln
