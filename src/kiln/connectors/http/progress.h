// connectors/http/progress.h: tells the user how a download is going (internal to http/).
// On a terminal: one self-overwriting line on stderr, e.g.
//   yellow_tripdata_2021-01.csv.gz [#########-----------]  12.3 MiB / 23.9 MiB  51%  4.2 MiB/s
// Elsewhere (CI, a log file): one log line when the download starts and one when it ends.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>

namespace kiln::connectors::http_internal {

//! "512 B", "402.6 KiB", "23.9 MiB", "1.2 GiB" (binary units, one decimal above bytes).
std::string FormatBytes(uint64_t bytes);

//! One bar line (no "\r", no newline): `label`, a 20-cell bar and the percentage when
//! `total_bytes` is known, bytes done (/ total), and `bytes_per_second` as a rate.
std::string FormatProgressLine(const std::string& label, uint64_t bytes_done,
                               std::optional<uint64_t> total_bytes, double bytes_per_second);

//! Progress of one download attempt. Not thread-safe (one per transfer).
class DownloadProgress {
 public:
  //! `url` (already redacted) names the download in log lines; `label` (the file name) on the
  //! bar. `bar_out`: the terminal to draw on, or nullptr to log start/end lines through `log`
  //! (which may be empty) instead.
  DownloadProgress(std::string url, std::string label, std::FILE* bar_out,
                   std::function<void(const std::string&)> log);
  //! Clears an unfinished bar.
  ~DownloadProgress();
  DownloadProgress(const DownloadProgress&) = delete;
  DownloadProgress& operator=(const DownloadProgress&) = delete;

  //! The body starts; `total_bytes` is its Content-Length when the server sent one.
  void Begin(std::optional<uint64_t> total_bytes);
  //! `bytes_done` of the body have arrived. Redraws at most every 100 ms.
  void Advance(uint64_t bytes_done);
  //! The body is complete and verified: draws the final line and ends it, or logs the end line.
  void Finish(uint64_t bytes);
  //! The attempt failed: erases the bar (the caller reports the failure).
  void Abandon();

 private:
  void Draw(uint64_t bytes_done);
  double Rate(uint64_t bytes_done) const;

  std::string url_;
  std::string label_;
  std::FILE* bar_out_;
  std::function<void(const std::string&)> log_;
  std::optional<uint64_t> total_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_draw_;
  bool active_ = false;  //!< Begin() was called and neither Finish() nor Abandon() yet
};

}  // namespace kiln::connectors::http_internal
