#include "kiln/common/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace kiln {
namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path.string() + ": cannot read: " + std::strerror(errno));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

fs::path TempSibling(const fs::path& path) {
  static std::atomic<unsigned> counter{0};  // uniqueness only; carries no program state
  return path.parent_path() / (path.filename().string() + ".tmp-" + std::to_string(::getpid()) +
                               "-" + std::to_string(counter.fetch_add(1)));
}

void WriteFileAtomic(const fs::path& path, std::string_view content) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  fs::path tmp = TempSibling(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw FileError(path.string() + ": cannot write: " + std::strerror(errno));
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      fs::remove(tmp, ec);
      throw FileError(path.string() + ": cannot write: " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    fs::remove(tmp, ec);
    throw FileError(path.string() + ": cannot rename into place: " + std::strerror(err));
  }
}

fs::path ExpandUser(std::string_view path, std::string_view home) {
  if (path == "~") return fs::path(home);
  if (path.size() >= 2 && path[0] == '~' && path[1] == '/') {
    return fs::path(home) / std::string(path.substr(2));
  }
  return fs::path(path);
}

bool IsWritableDir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir, ec)) return false;
  return ::access(dir.c_str(), W_OK | X_OK) == 0;
}

}  // namespace kiln
