#include "kiln/connectors/http/progress.h"

#include <algorithm>
#include <iterator>

namespace kiln::connectors::http_internal {
namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
constexpr int kBarCells = 20;
constexpr size_t kMaxLabelChars = 40;

std::string Printf(const char* format, double value, const char* unit) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value, unit);
  return buffer;
}

}  // namespace

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return Printf("%.1f %s", value, kUnits[unit]);
}

std::string FormatProgressLine(const std::string& label, uint64_t bytes_done,
                               std::optional<uint64_t> total_bytes, double bytes_per_second) {
  std::string line = label.size() <= kMaxLabelChars
                         ? label
                         : "..." + label.substr(label.size() - (kMaxLabelChars - 3));
  if (total_bytes && *total_bytes > 0) {
    uint64_t done = std::min(bytes_done, *total_bytes);
    int cells = static_cast<int>(done * kBarCells / *total_bytes);
    line += " [" + std::string(cells, '#') + std::string(kBarCells - cells, '-') + "]  ";
    line += FormatBytes(bytes_done) + " / " + FormatBytes(*total_bytes) + "  ";
    line += std::to_string(done * 100 / *total_bytes) + "%";
  } else {
    line += "  " + FormatBytes(bytes_done);
  }
  line += "  " + FormatBytes(static_cast<uint64_t>(std::max(0.0, bytes_per_second))) + "/s";
  return line;
}

DownloadProgress::DownloadProgress(std::string url, std::string label, std::FILE* bar_out,
                                   std::function<void(const std::string&)> log)
    : url_(std::move(url)), label_(std::move(label)), bar_out_(bar_out), log_(std::move(log)) {}

DownloadProgress::~DownloadProgress() {
  if (active_) Abandon();
}

void DownloadProgress::Begin(std::optional<uint64_t> total_bytes) {
  total_ = total_bytes;
  started_ = std::chrono::steady_clock::now();
  last_draw_ = started_ - kRedrawInterval;
  active_ = true;
  if (bar_out_) {
    Draw(0);
  } else if (log_) {
    log_("downloading " + url_ + (total_ ? " (" + FormatBytes(*total_) + ")" : std::string()));
  }
}

void DownloadProgress::Advance(uint64_t bytes_done) {
  if (!active_ || !bar_out_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;
  Draw(bytes_done);
}

void DownloadProgress::Finish(uint64_t bytes) {
  if (!active_) return;
  active_ = false;
  if (bar_out_) {
    Draw(bytes);
    std::fputc('\n', bar_out_);
    std::fflush(bar_out_);
  } else if (log_) {
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    log_("downloaded " + url_ + ": " + FormatBytes(bytes) + " in " +
         Printf("%.1f%s", seconds, " s") + " (" + FormatBytes(static_cast<uint64_t>(Rate(bytes))) +
         "/s)");
  }
}

void DownloadProgress::Abandon() {
  if (!active_) return;
  active_ = false;
  if (bar_out_) {
    std::fputs("\r\033[K", bar_out_);  // carriage return + erase to end of line
    std::fflush(bar_out_);
  }
}

void DownloadProgress::Draw(uint64_t bytes_done) {
  std::string line = FormatProgressLine(label_, bytes_done, total_, Rate(bytes_done));
  std::fprintf(bar_out_, "\r%s\033[K", line.c_str());
  std::fflush(bar_out_);
}

double DownloadProgress::Rate(uint64_t bytes_done) const {
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return seconds > 0 ? static_cast<double>(bytes_done) / seconds : 0.0;
}

}  // namespace kiln::connectors::http_internal
