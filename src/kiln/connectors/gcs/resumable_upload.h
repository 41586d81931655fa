// connectors/gcs/resumable_upload.h: one GCS resumable upload session (internal to gcs/).
// The object appears only when the last chunk (Content-Range bytes A-B/TOTAL) is acknowledged
// with 200/201; until then the session can be resumed from the server's offset (a 308 answer's
// Range header) or deleted. Google's "Perform a resumable upload" documents the protocol.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "kiln/connectors/gcs/gcs_api.h"

namespace kiln::connectors::gcs_internal {

//! Chunks other than the last must be multiples of this (256 KiB).
inline constexpr uint64_t kChunkQuantum = 256 * 1024;

//! `part_size` rounded down to a multiple of 256 KiB, at least 256 KiB.
uint64_t ChunkSize(uint64_t part_size);

//! A started session. Not thread-safe. Destroying it before the object is finalized sends
//! DELETE <session> (best effort: a failure is logged as a warning), so no object appears.
class ResumableUpload {
 public:
  //! POST .../o?uploadType=resumable with {"name": key}, X-Upload-Content-Type and (when known)
  //! X-Upload-Content-Length; keeps the session URI from Location. Throws ObjectStoreError
  //! (404: kNoSuchBucket, 403: kAccessDenied naming the account).
  ResumableUpload(GcsApi& api, CallSite site, const std::string& content_type,
                  std::optional<uint64_t> total_size, std::function<bool()> cancelled);
  ~ResumableUpload();
  ResumableUpload(const ResumableUpload&) = delete;
  ResumableUpload& operator=(const ResumableUpload&) = delete;

  //! What the server holds after a request.
  struct Progress {
    uint64_t persisted = 0;                //!< bytes stored: the next chunk starts here
    std::optional<nlohmann::json> object;  //!< the object resource once finalized
  };

  //! PUTs bytes [offset, offset + length) (`body`: those bytes, or the file range holding them),
  //! with "/TOTAL" when `total` is given (the last chunk), else "/*". On a transport error or a
  //! 408/429/5xx answer the session's status is asked (PUT, Content-Range bytes */TOTAL or */*)
  //! after a backoff, per the retry policy; the caller continues from Progress::persisted, which
  //! may be less than offset + length. Throws ObjectStoreError when the session fails or
  //! retries run out without progress.
  Progress PutChunk(uint64_t offset, std::variant<std::string, FileRange> body, uint64_t length,
                    std::optional<uint64_t> total);

  //! Sends the whole of [from, total) in chunks of `chunk_size` from `read` and finalizes; the
  //! object's JSON. `read(offset, length)` gives the body of a chunk.
  nlohmann::json SendAll(
      uint64_t from, uint64_t total, uint64_t chunk_size,
      const std::function<std::variant<std::string, FileRange>(uint64_t offset, uint64_t length)>&
          read);

  //! DELETE <session> now (idempotent). Never throws.
  void Abort() noexcept;

 private:
  //! Progress of a 308 (Range "bytes=0-N" -> N + 1; none -> 0) or a 200/201 (finalized).
  std::optional<Progress> ProgressOf(const HttpResponse& response) const;
  //! PUT with an empty body: where does the session stand?
  HttpResponse QueryStatus(std::optional<uint64_t> total);

  GcsApi& api_;
  CallSite site_;
  std::function<bool()> cancelled_;
  std::string session_uri_;
  std::optional<uint64_t> total_;  //!< the object's size, when declared at the start
  bool finished_ = false;          //!< finalized or aborted
};

}  // namespace kiln::connectors::gcs_internal
