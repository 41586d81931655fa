#include "kiln/connectors/local/local_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace kiln::connectors {
namespace fs = std::filesystem;
namespace {

using Kind = ObjectStoreError::Kind;

constexpr const char* kTempDir = ".kiln-tmp";

std::string Uri(std::string_view scheme, std::string_view bucket, std::string_view key) {
  return std::string(scheme) + "://" + std::string(bucket) + "/" + std::string(key);
}

//! A key is '/'-separated names; none may be empty, "." or ".." (no way out of the bucket).
void CheckKey(std::string_view scheme, std::string_view bucket, std::string_view key) {
  bool ok = !key.empty() && key.front() != '/';
  size_t start = 0;
  while (ok && start <= key.size()) {
    const size_t end = std::min(key.find('/', start), key.size());
    const std::string_view part = key.substr(start, end - start);
    ok = !part.empty() && part != "." && part != "..";
    start = end + 1;
  }
  if (!ok) {
    throw ObjectStoreError(Kind::kOther, "write " + Uri(scheme, bucket, key) +
                                             " failed: the key must be '/'-separated names, "
                                             "none empty, '.' or '..'");
  }
}

ObjectInfo InfoOf(const fs::path& file, std::string key) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return {};
  ObjectInfo info;
  info.key = std::move(key);
  info.size = static_cast<uint64_t>(st.st_size);
  info.version =
      std::to_string(static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec) +
      "-" + std::to_string(st.st_ino);
  return info;
}

class LocalWriter : public ObjectWriter {
 public:
  LocalWriter(fs::path temp_dir, fs::path target, std::string key, std::string uri,
              std::function<bool()> cancelled)
      : target_(std::move(target)),
        key_(std::move(key)),
        uri_(std::move(uri)),
        cancelled_(std::move(cancelled)) {
    std::string pattern = (temp_dir / "object-XXXXXX").string();
    fd_ = ::mkstemp(pattern.data());
    if (fd_ < 0) Fail("cannot create a temporary file in " + temp_dir.string());
    temp_ = pattern;
  }
  ~LocalWriter() override {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_ && !temp_.empty()) {
      std::error_code ec;
      fs::remove(temp_, ec);
    }
  }

  void Write(std::string_view bytes) override {
    if (cancelled_ && cancelled_())
      throw ObjectStoreError(Kind::kCancelled, "write " + uri_ + " failed: cancelled");
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) Fail(std::strerror(errno));
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }

  ObjectInfo Commit() override {
    if (::fsync(fd_) != 0) Fail(std::strerror(errno));
    ::close(fd_);
    fd_ = -1;
    std::error_code ec;
    fs::create_directories(target_.parent_path(), ec);
    if (ec) Fail("cannot create " + target_.parent_path().string() + ": " + ec.message());
    if (fs::is_directory(target_)) Fail("a folder of that name holds other objects");
    fs::rename(temp_, target_, ec);
    if (ec) Fail(ec.message());
    committed_ = true;
    return InfoOf(target_, key_);
  }

 private:
  [[noreturn]] void Fail(const std::string& why) {
    throw ObjectStoreError(Kind::kOther, "write " + uri_ + " failed: " + why);
  }

  fs::path target_, temp_;
  std::string key_, uri_;
  std::function<bool()> cancelled_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace

LocalObjectStore::LocalObjectStore(fs::path root, std::string scheme)
    : root_(std::move(root)), scheme_(std::move(scheme)) {
  std::error_code ec;
  fs::create_directories(root_ / kTempDir, ec);
  if (ec) {
    throw ObjectStoreError(Kind::kOther, "local object store " + root_.string() +
                                             ": cannot create it: " + ec.message());
  }
  // What a killed process left mid-write: never visible under a key, removed after a day (a
  // write of another process may still be going on in a younger one).
  const auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(24);
  for (auto it = fs::directory_iterator(root_ / kTempDir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    std::error_code ignored;
    if (it->last_write_time(ignored) < cutoff && !ignored) fs::remove_all(it->path(), ignored);
  }
}

fs::path LocalObjectStore::BucketDir(std::string_view bucket, bool must_exist) const {
  if (bucket.empty() || bucket.find('/') != std::string_view::npos || bucket == "." ||
      bucket == ".." || bucket == kTempDir) {
    throw ObjectStoreError(Kind::kNoSuchBucket,
                           scheme_ + "://" + std::string(bucket) + ": not a bucket name");
  }
  fs::path dir = root_ / std::string(bucket);
  if (must_exist && !fs::is_directory(dir)) {
    throw ObjectStoreError(Kind::kNoSuchBucket, "list " + scheme_ + "://" + std::string(bucket) +
                                                    " failed: no such bucket (" + dir.string() +
                                                    ")");
  }
  return dir;
}

fs::path LocalObjectStore::PathOf(std::string_view bucket, std::string_view key) const {
  return root_ / std::string(bucket) / std::string(key);
}

std::vector<ObjectInfo> LocalObjectStore::List(std::string_view bucket, std::string_view prefix) {
  const fs::path dir = BucketDir(bucket, true);
  std::vector<ObjectInfo> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::string key = fs::relative(it->path(), dir).generic_string();
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    out.push_back(InfoOf(it->path(), std::move(key)));
  }
  if (ec) {
    throw ObjectStoreError(Kind::kOther,
                           "list " + Uri(scheme_, bucket, prefix) + " failed: " + ec.message());
  }
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

std::optional<ObjectInfo> LocalObjectStore::Stat(std::string_view bucket, std::string_view key) {
  const fs::path file = BucketDir(bucket, true) / std::string(key);
  if (!fs::is_regular_file(file)) return std::nullopt;
  return InfoOf(file, std::string(key));
}

ObjectInfo LocalObjectStore::Download(std::string_view bucket, std::string_view key,
                                      const fs::path& dest) {
  const fs::path file = BucketDir(bucket, true) / std::string(key);
  if (!fs::is_regular_file(file)) {
    throw ObjectStoreError(Kind::kNoSuchObject,
                           "read " + Uri(scheme_, bucket, key) + " failed: no such object");
  }
  const fs::path temp = dest.string() + ".kiln-part";
  std::error_code ec;
  fs::copy_file(file, temp, fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::rename(temp, dest, ec);
  if (ec) {
    fs::remove(temp);
    throw ObjectStoreError(Kind::kOther, "read " + Uri(scheme_, bucket, key) + " into " +
                                             dest.string() + " failed: " + ec.message());
  }
  return InfoOf(file, std::string(key));
}

std::unique_ptr<ObjectWriter> LocalObjectStore::OpenWriter(std::string_view bucket,
                                                           std::string_view key,
                                                           const UploadOptions& options) {
  const fs::path dir = BucketDir(bucket, false);
  CheckKey(scheme_, bucket, key);
  return std::make_unique<LocalWriter>(root_ / kTempDir, dir / std::string(key), std::string(key),
                                       Uri(scheme_, bucket, key), options.cancelled);
}

ObjectInfo LocalObjectStore::Upload(const fs::path& source, std::string_view bucket,
                                    std::string_view key, const UploadOptions& options) {
  const fs::path dir = BucketDir(bucket, false);
  CheckKey(scheme_, bucket, key);
  const std::string uri = Uri(scheme_, bucket, key);
  if (options.cancelled && options.cancelled())
    throw ObjectStoreError(Kind::kCancelled, "write " + uri + " failed: cancelled");
  // Only files staged in our own temp folder are linked: a user's file must not share its
  // inode (and its age, which the stale sweep reads) with an object.
  const fs::path staged = source.lexically_normal().lexically_relative(root_ / kTempDir);
  if (staged.empty() || *staged.begin() == "..") {
    return ObjectStore::Upload(source, bucket, key, options);
  }
  // A name of our own in the temp folder: mkstemp reserves it, the link replaces it.
  std::string pattern = (root_ / kTempDir / "link-XXXXXX").string();
  const int reserved = ::mkstemp(pattern.data());
  if (reserved < 0) return ObjectStore::Upload(source, bucket, key, options);
  ::close(reserved);
  const fs::path temp = pattern;
  std::error_code ec;
  fs::remove(temp, ec);
  if (::link(source.c_str(), temp.c_str()) != 0) {  // another file system: copy
    return ObjectStore::Upload(source, bucket, key, options);
  }
  auto fail = [&](const std::string& why) -> ObjectInfo {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw ObjectStoreError(Kind::kOther, "write " + uri + " failed: " + why);
  };
  const int fd = ::open(temp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return fail(why);
  }
  ::close(fd);
  const fs::path target = dir / std::string(key);
  fs::create_directories(target.parent_path(), ec);
  if (ec) return fail("cannot create " + target.parent_path().string() + ": " + ec.message());
  if (fs::is_directory(target)) return fail("a folder of that name holds other objects");
  fs::rename(temp, target, ec);
  if (ec) return fail(ec.message());
  return InfoOf(target, std::string(key));
}

fs::path LocalObjectStore::StagingDir() const {
  return root_ / kTempDir;
}

void LocalObjectStore::Delete(std::string_view bucket, std::string_view key) {
  const fs::path file = BucketDir(bucket, true) / std::string(key);
  std::error_code ec;
  if (fs::is_regular_file(file)) fs::remove(file, ec);
  if (ec) {
    throw ObjectStoreError(Kind::kOther,
                           "delete " + Uri(scheme_, bucket, key) + " failed: " + ec.message());
  }
}

}  // namespace kiln::connectors
