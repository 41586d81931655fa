// connectors/http/download_file.h: where one download attempt's body goes (internal to http/).
// The body streams into a unique temporary file in the cache entry's folder while its gzip
// framing is checked and progress is shown; only a verified body is renamed to its final name.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "kiln/connectors/http/curl_get.h"
#include "kiln/connectors/http/download_cache.h"
#include "kiln/connectors/http/gzip_check.h"
#include "kiln/connectors/http/progress.h"

namespace kiln::connectors::http_internal {

//! Thrown by DownloadFile::Write to abort a transfer whose body is already known to be bad
//! (corrupt gzip). what() is the reason phrase, e.g. "corrupt gzip (at byte 17: ...)".
class BodyRejected : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

//! Why a received body cannot be published.
struct BodyProblem {
  std::string reason;  //!< e.g. "truncated gzip (...)"
  bool retryable;      //!< a new try may get the whole body (a short read), or not (bad data)
};

//! The body of one GET attempt. Not thread-safe; REQUIRES: the entry's EntryLock is held.
class DownloadFile : public BodySink {
 public:
  //! Creates `<entry.dir()>/.tmp-<file name>-XXXXXX`. The body is checked as gzip when
  //! `gzip_expected` (the URL path ends in ".gz") or it starts with the gzip magic 1f 8b.
  //! `progress` reports the transfer. Throws std::system_error when the file cannot be created.
  DownloadFile(const CacheEntry& entry, bool gzip_expected,
               std::unique_ptr<DownloadProgress> progress);
  //! Removes the temporary file unless Publish() moved it into place.
  ~DownloadFile() override;
  DownloadFile(const DownloadFile&) = delete;
  DownloadFile& operator=(const DownloadFile&) = delete;

  void Begin(const ResponseHead& head) override;
  //! Appends to the temporary file. Throws BodyRejected on corrupt gzip data, std::system_error
  //! when the disk write fails.
  void Write(const char* data, size_t size) override;

  //! Call after the transfer succeeded: checks the body has Content-Length bytes (when announced)
  //! and ends a gzip member, then flushes it to disk. nullopt when it may be published.
  std::optional<BodyProblem> Verify();
  //! Renames the verified body to entry.body_path(), replacing an older copy atomically.
  //! Throws std::system_error.
  void Publish();

  //! Body bytes received so far.
  uint64_t bytes() const { return bytes_; }

 private:
  //! Decides from the first two bytes whether the body is gzip, then checks it as it comes.
  void FeedGzip(const char* data, size_t size);
  //! Feeds the gzip check; throws BodyRejected when the data is corrupt.
  void CheckGzip(const char* data, size_t size);

  const CacheEntry& entry_;
  std::string temp_path_;
  int fd_ = -1;
  bool gzip_expected_;
  std::unique_ptr<DownloadProgress> progress_;
  std::optional<uint64_t> content_length_;
  uint64_t bytes_ = 0;
  std::string first_bytes_;          //!< the first byte(s), kept until the gzip magic can be judged
  std::unique_ptr<GzipCheck> gzip_;  //!< set once the body is known to be gzip
  bool format_known_ = false;        //!< whether gzip_ was decided
  bool published_ = false;
};

}  // namespace kiln::connectors::http_internal
