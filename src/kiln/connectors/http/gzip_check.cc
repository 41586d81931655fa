#include "kiln/connectors/http/gzip_check.h"

#include <algorithm>
#include <stdexcept>

namespace kiln::connectors::http_internal {
namespace {

//! 15 window bits + 16: expect a gzip header and trailer (not zlib, not raw deflate).
constexpr int kGzipWindowBits = 15 + 16;
constexpr size_t kScratchBytes = 64 * 1024;

}  // namespace

GzipCheck::GzipCheck() : scratch_(kScratchBytes) {
  if (inflateInit2(&stream_, kGzipWindowBits) != Z_OK) {
    throw std::runtime_error("zlib inflateInit2 failed");
  }
}

GzipCheck::~GzipCheck() {
  inflateEnd(&stream_);
}

bool GzipCheck::Feed(const unsigned char* data, size_t size) {
  if (!error_.empty()) return false;
  // zlib's avail_in is 32 bits; curl hands over at most CURL_MAX_WRITE_SIZE (16 KiB) at once, but
  // stay correct for any size.
  while (size > 0) {
    size_t chunk = std::min<size_t>(size, 1u << 30);
    stream_.next_in = const_cast<unsigned char*>(data);
    stream_.avail_in = static_cast<uInt>(chunk);
    while (true) {
      if (member_done_) {
        if (stream_.avail_in == 0) break;
        inflateReset(&stream_);  // another member follows
        member_done_ = false;
      }
      stream_.next_out = scratch_.data();
      stream_.avail_out = static_cast<uInt>(scratch_.size());
      uInt before = stream_.avail_in;
      int rc = inflate(&stream_, Z_NO_FLUSH);
      bytes_in_ += before - stream_.avail_in;
      if (rc == Z_STREAM_END) {
        member_done_ = true;
      } else if (rc == Z_BUF_ERROR ||
                 (rc == Z_OK && stream_.avail_in == 0 && stream_.avail_out != 0)) {
        break;  // needs more input
      } else if (rc != Z_OK) {
        error_ = "corrupt gzip (at byte " + std::to_string(bytes_in_) + ": " +
                 (stream_.msg ? stream_.msg : "invalid data") + ")";
        return false;
      }
    }
    data += chunk;
    size -= chunk;
  }
  return true;
}

bool GzipCheck::Finish() {
  if (!error_.empty()) return false;
  if (bytes_in_ == 0) {
    error_ = "truncated gzip (the body is empty)";
  } else if (!member_done_) {
    error_ = "truncated gzip (the body ends inside a gzip member after " +
             std::to_string(bytes_in_) + " bytes)";
  }
  return error_.empty();
}

}  // namespace kiln::connectors::http_internal
