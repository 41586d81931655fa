#include "kiln/connectors/http/download_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <fstream>
#include <system_error>

#include <openssl/evp.h>
#include <nlohmann/json.hpp>

#include "kiln/connectors/http/url.h"

namespace kiln::connectors::http_internal {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void ThrowErrno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

//! Writes `text` to a fresh unique file in `dir`, fsyncs it and renames it to `target`.
void WriteFileAtomically(const fs::path& dir, const fs::path& target, const std::string& text) {
  std::string temp = (dir / (".tmp-" + target.filename().string() + "-XXXXXX")).string();
  int fd = mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) ThrowErrno("cannot create a temporary file in " + dir.string());
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      close(fd);
      unlink(temp.c_str());
      errno = saved;
      ThrowErrno("cannot write " + temp);
    }
    written += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    unlink(temp.c_str());
    ThrowErrno("cannot write " + temp);
  }
  if (rename(temp.c_str(), target.c_str()) != 0) {
    int saved = errno;
    unlink(temp.c_str());
    errno = saved;
    ThrowErrno("cannot rename " + temp + " to " + target.string());
  }
}

}  // namespace

std::string Sha256Hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL EVP_Digest(sha256) failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

std::string UtcNowIso8601() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

CacheEntry::CacheEntry(const fs::path& cache_dir, std::string url)
    : url_(std::move(url)),
      dir_(cache_dir / Sha256Hex(url_)),
      body_path_(dir_ / BodyFileName(url_)) {}

std::optional<CacheMeta> CacheEntry::Load() const {
  std::ifstream in(meta_path());
  if (!in) return std::nullopt;
  nlohmann::json json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return std::nullopt;
  CacheMeta meta;
  try {
    meta.url = json.at("url").get<std::string>();
    meta.etag = json.value("etag", "");
    meta.last_modified = json.value("last_modified", "");
    meta.bytes = json.at("bytes").get<uint64_t>();
    meta.fetched_at = json.value("fetched_at", "");
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // written by something else; treat as not cached
  }
  std::error_code ec;
  uintmax_t size = fs::file_size(body_path_, ec);
  if (meta.url != url_ || ec || size != meta.bytes) return std::nullopt;
  return meta;
}

void CacheEntry::Store(const CacheMeta& meta) const {
  nlohmann::json json = {{"url", meta.url},
                         {"etag", meta.etag},
                         {"last_modified", meta.last_modified},
                         {"bytes", meta.bytes},
                         {"fetched_at", meta.fetched_at}};
  WriteFileAtomically(dir_, meta_path(), json.dump(2) + "\n");
}

std::optional<MetaStamp> CacheEntry::Stamp() const {
  struct stat st {};
  if (stat(meta_path().c_str(), &st) != 0) return std::nullopt;
  return MetaStamp{st.st_ino,
                   static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

void CacheEntry::RemoveStaleTempFiles() const {
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(dir_, ec)) {
    if (item.path().filename().string().starts_with(".tmp-")) fs::remove(item.path(), ec);
  }
}

EntryLock::EntryLock(const CacheEntry& entry) : entry_(entry) {
  // The lock file may be unlinked by RemoveEntry() between our open() and flock(); then we hold
  // a lock on a dead inode and must start over with the file now at that path.
  for (int tries = 0; tries < 100; ++tries) {
    std::error_code ec;
    fs::create_directories(entry.dir(), ec);
    int fd = open(entry.lock_path().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == ENOENT) continue;  // the folder was removed under us
      ThrowErrno("cannot open the cache lock " + entry.lock_path().string());
    }
    while (flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        int saved = errno;
        close(fd);
        errno = saved;
        ThrowErrno("cannot lock " + entry.lock_path().string());
      }
    }
    struct stat held {
    }, current{};
    if (fstat(fd, &held) == 0 && stat(entry.lock_path().c_str(), &current) == 0 &&
        held.st_ino == current.st_ino && held.st_dev == current.st_dev) {
      fd_ = fd;
      return;
    }
    close(fd);
  }
  errno = EAGAIN;
  ThrowErrno("cannot lock " + entry.lock_path().string() + " (it keeps being removed)");
}

EntryLock::~EntryLock() {
  if (fd_ >= 0) close(fd_);  // closing the last descriptor releases the flock
}

void EntryLock::RemoveEntry() {
  std::error_code ec;
  fs::remove_all(entry_.dir(), ec);  // the lock file goes too, while we still hold it
  close(fd_);
  fd_ = -1;
}

}  // namespace kiln::connectors::http_internal
