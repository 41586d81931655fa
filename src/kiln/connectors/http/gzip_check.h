// connectors/http/gzip_check.h: verifies a gzip body while it streams in (internal to http/).
// The bytes are inflated and thrown away; only whether the stream is well formed and complete
// matters, so a truncated `.csv.gz` is rejected before DuckDB ever sees it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <zlib.h>

namespace kiln::connectors::http_internal {

//! Inflates a gzip stream chunk by chunk (one or more concatenated members, as gzip(1) and
//! DuckDB accept) and reports the first corruption or a truncated end. Not thread-safe.
class GzipCheck {
 public:
  GzipCheck();
  ~GzipCheck();
  GzipCheck(const GzipCheck&) = delete;
  GzipCheck& operator=(const GzipCheck&) = delete;

  //! Inflates the next `size` bytes. Returns false when they are not valid gzip (bad header,
  //! bad deflate data, CRC or length mismatch, bytes after a member that do not start another);
  //! error() then says why. Once false, stays false.
  bool Feed(const unsigned char* data, size_t size);

  //! Call after the last byte. Returns false when the stream is empty or ends inside a member
  //! ("truncated gzip ..."), or when an earlier Feed failed; error() then says why.
  bool Finish();

  //! One phrase for an error message, e.g. "truncated gzip (the body ends inside a gzip member
  //! after 201301 bytes)". Empty while no error was found.
  const std::string& error() const { return error_; }

 private:
  z_stream stream_{};
  bool member_done_ = false;  //!< the last member ended exactly at the bytes seen so far
  uint64_t bytes_in_ = 0;     //!< compressed bytes fed so far
  std::string error_;
  std::vector<unsigned char> scratch_;  //!< inflated bytes land here and are dropped
};

}  // namespace kiln::connectors::http_internal
