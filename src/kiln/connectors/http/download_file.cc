#include "kiln/connectors/http/download_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <system_error>

namespace kiln::connectors::http_internal {
namespace {

constexpr unsigned char kGzipMagic[2] = {0x1f, 0x8b};

[[noreturn]] void ThrowErrno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

bool StartsWithGzipMagic(const std::string& bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == kGzipMagic[0] &&
         static_cast<unsigned char>(bytes[1]) == kGzipMagic[1];
}

}  // namespace

DownloadFile::DownloadFile(const CacheEntry& entry, bool gzip_expected,
                           std::unique_ptr<DownloadProgress> progress)
    : entry_(entry), gzip_expected_(gzip_expected), progress_(std::move(progress)) {
  temp_path_ =
      (entry.dir() / (".tmp-" + entry.body_path().filename().string() + "-XXXXXX")).string();
  fd_ = mkostemp(temp_path_.data(), O_CLOEXEC);
  if (fd_ < 0) ThrowErrno("cannot create a temporary file in " + entry.dir().string());
}

DownloadFile::~DownloadFile() {
  if (fd_ >= 0) close(fd_);
  if (!published_) unlink(temp_path_.c_str());
}

void DownloadFile::Begin(const ResponseHead& head) {
  content_length_ = head.content_length;
  progress_->Begin(head.content_length);
}

void DownloadFile::Write(const char* data, size_t size) {
  for (size_t written = 0; written < size;) {
    ssize_t n = write(fd_, data + written, size - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ThrowErrno("cannot write " + temp_path_);
    written += static_cast<size_t>(n);
  }
  bytes_ += size;
  FeedGzip(data, size);
  progress_->Advance(bytes_);
}

void DownloadFile::FeedGzip(const char* data, size_t size) {
  if (!format_known_) {
    size_t earlier = first_bytes_.size();  // arrived in an earlier call, not fed yet
    first_bytes_.append(data, std::min<size_t>(size, 2 - earlier));
    if (first_bytes_.size() < 2) return;  // judged on the next call or in Verify()
    format_known_ = true;
    if (!gzip_expected_ && !StartsWithGzipMagic(first_bytes_)) return;
    gzip_ = std::make_unique<GzipCheck>();
    CheckGzip(first_bytes_.data(), earlier);
  }
  if (gzip_) CheckGzip(data, size);
}

void DownloadFile::CheckGzip(const char* data, size_t size) {
  if (size > 0 && !gzip_->Feed(reinterpret_cast<const unsigned char*>(data), size)) {
    throw BodyRejected(gzip_->error());
  }
}

std::optional<BodyProblem> DownloadFile::Verify() {
  if (content_length_ && bytes_ != *content_length_) {
    progress_->Abandon();
    return BodyProblem{"body shorter than Content-Length (got " + std::to_string(bytes_) + " of " +
                           std::to_string(*content_length_) + " bytes)",
                       true};
  }
  if (!format_known_) {  // fewer than 2 bytes arrived
    format_known_ = true;
    if (gzip_expected_ || StartsWithGzipMagic(first_bytes_)) {
      gzip_ = std::make_unique<GzipCheck>();
      gzip_->Feed(reinterpret_cast<const unsigned char*>(first_bytes_.data()),
                  first_bytes_.size());  // an error shows in Finish() below
    }
  }
  if (gzip_ && !gzip_->Finish()) {
    progress_->Abandon();
    return BodyProblem{gzip_->error(), false};
  }
  if (fsync(fd_) != 0) ThrowErrno("cannot write " + temp_path_);
  int fd = fd_;
  fd_ = -1;
  if (close(fd) != 0) ThrowErrno("cannot write " + temp_path_);
  progress_->Finish(bytes_);
  return std::nullopt;
}

void DownloadFile::Publish() {
  if (rename(temp_path_.c_str(), entry_.body_path().c_str()) != 0) {
    ThrowErrno("cannot rename " + temp_path_ + " to " + entry_.body_path().string());
  }
  published_ = true;
}

}  // namespace kiln::connectors::http_internal
