// connectors/s3/multipart_upload.h: one S3 multipart upload (internal to s3/): initiated, parts
// sent up to 4 at a time, completed last, aborted when not completed (docs/design/cloud.md §7).
// The object appears only when Complete() succeeds; parts of an upload that was neither
// completed nor aborted (a killed process) stay until a bucket lifecycle rule removes them.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <string>
#include <vector>

#include "kiln/connectors/s3/s3_client.h"
#include "kiln/connectors/s3/s3_xml.h"

namespace kiln::connectors {

class MultipartUpload {
 public:
  //! Parts sent at once.
  static constexpr size_t kPartsInFlight = 4;
  //! S3's smallest part (every part but the last) and most parts.
  static constexpr uint64_t kMinPartSize = 5ull << 20;
  static constexpr int kMaxParts = 10000;

  //! Initiates the upload (POST ?uploads). `client` must outlive this object. Throws
  //! ObjectStoreError (as S3Client::Failure) when S3 refuses.
  MultipartUpload(const S3Client& client, std::string bucket, std::string key,
                  std::string content_type, std::function<bool()> cancelled);
  //! Without a successful Complete(): waits for parts in flight, then aborts (DELETE
  //! ?uploadId); a failed abort is logged as a warning. Never throws.
  ~MultipartUpload();
  MultipartUpload(const MultipartUpload&) = delete;
  MultipartUpload& operator=(const MultipartUpload&) = delete;

  //! Sends `bytes` as the next part in the background; blocks while kPartsInFlight parts are
  //! running. Throws the ObjectStoreError of an earlier part that failed, kCancelled when
  //! cancelled, kOther past kMaxParts parts.
  void AddPart(std::string bytes);
  //! Waits for every part, then completes the upload (a 200 whose body is <Error> is a failure).
  //! Returns the object (`size` = bytes of all parts, version = the ETag). Throws
  //! ObjectStoreError; the upload is then aborted by the destructor.
  ObjectInfo Complete();

 private:
  //! Waits for the oldest part in flight, keeping its ETag; rethrows its error.
  void WaitOldest();
  void ThrowIfCancelled() const;

  const S3Client& client_;
  std::string bucket_, key_, upload_id_;
  std::function<bool()> cancelled_;
  std::deque<std::future<S3Part>> in_flight_;
  std::vector<S3Part> done_;
  int next_number_ = 1;
  uint64_t size_ = 0;
  bool completed_ = false;
};

//! The part size for an object of `size` bytes: `wanted` (at least 5 MiB), raised so that the
//! object fits in 10,000 parts.
uint64_t S3PartSize(uint64_t size, uint64_t wanted);

}  // namespace kiln::connectors
