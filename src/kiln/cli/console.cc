#include "kiln/cli/console.h"

#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include "kiln/common/text.h"

namespace kiln::cli {
namespace {

const char* StatusColor(run::BlockRunStatus status) {
  switch (status) {
    case run::BlockRunStatus::kCompleted:
      return "\033[32m";
    case run::BlockRunStatus::kFailed:
    case run::BlockRunStatus::kUpstreamFailed:
      return "\033[31m";
    case run::BlockRunStatus::kCancelled:
      return "\033[33m";
    case run::BlockRunStatus::kRunning:
      return "\033[36m";
    default:
      return "";
  }
}

std::string Clock() {
  DateTime now = DateTime::NowUtc();
  return now.Strftime("%H:%M:%S");
}

}  // namespace

std::string FormatDuration(std::chrono::milliseconds ms) {
  double s = static_cast<double>(ms.count()) / 1000.0;
  if (s < 60) return fmt::format("{:.2f} s", s);
  auto total = static_cast<int64_t>(s);
  return fmt::format("{} min {:02d} s", total / 60, total % 60);
}

ConsoleObserver::ConsoleObserver(bool verbose, size_t name_width)
    : verbose_(verbose), color_(::isatty(2) == 1), name_width_(std::max<size_t>(name_width, 12)) {}

void ConsoleObserver::OnBlockStatus(const run::BlockRunRecord& r) {
  if (r.status == run::BlockRunStatus::kQueued || r.status == run::BlockRunStatus::kInitial) return;
  std::string detail;
  if (r.status == run::BlockRunStatus::kCompleted) {
    if (r.rows) detail += CountOf(*r.rows, "row") + "  ";
    detail += FormatDuration(r.duration);
  } else if (r.status == run::BlockRunStatus::kRunning && r.attempts > 1) {
    detail = "attempt " + std::to_string(r.attempts);
  } else if (!r.error.empty() && r.status != run::BlockRunStatus::kFailed) {
    detail = r.error;
  }
  std::string status(run::BlockRunStatusName(r.status));
  if (color_) status = std::string(StatusColor(r.status)) + status + "\033[0m";
  int pad = color_ ? 15 + 9 : 15;
  fmt::print(stderr, "{}  {:<{}}  {:<{}} {}\n", Clock(), r.block_uuid, name_width_, status, pad,
             detail);
}

void ConsoleObserver::OnLog(std::string_view block_uuid, blocks::LogLevel level,
                            std::string_view message) {
  if (level == blocks::LogLevel::kDebug && !verbose_) return;
  const char* tag = level == blocks::LogLevel::kError     ? "error: "
                    : level == blocks::LogLevel::kWarning ? "warning: "
                                                          : "";
  std::string who = block_uuid.empty() ? "pipeline" : std::string(block_uuid);
  fmt::print(stderr, "{}  [{}] {}{}\n", Clock(), who, tag, message);
}

void PrintRunSummary(const run::PipelineRunRecord& record, std::FILE* out) {
  size_t width = 5;
  for (const auto& b : record.blocks) width = std::max(width, b.block_uuid.size());
  fmt::print(out, "\nPipeline {} {} in {}", record.pipeline_uuid,
             run::PipelineRunStatusName(record.status), FormatDuration(record.duration));
  if (record.execution_date)
    fmt::print(out, " (execution_date {})", record.execution_date->ToString());
  fmt::print(out, "\n\n  {:<{}}  {:<16} {:>12} {:>10}\n", "BLOCK", width, "STATUS", "ROWS", "TIME");
  for (const auto& b : record.blocks) {
    std::string rows = b.rows ? GroupThousands(*b.rows) : "-";
    std::string time = b.started_at ? FormatDuration(b.duration) : "-";
    fmt::print(out, "  {:<{}}  {:<16} {:>12} {:>10}\n", b.block_uuid, width,
               run::BlockRunStatusName(b.status), rows, time);
  }
  bool any_error = false;
  for (const auto& b : record.blocks) {
    if (b.status == run::BlockRunStatus::kFailed || b.status == run::BlockRunStatus::kCancelled) {
      if (!any_error) fmt::print(out, "\nErrors:\n");
      any_error = true;
      fmt::print(out, "  {}: {}\n", b.block_uuid, b.error);
    }
  }
  bool any_export = false;
  for (const auto& b : record.blocks) {
    for (const auto& d : b.destinations) {
      if (!any_export) fmt::print(out, "\nExported:\n");
      any_export = true;
      fmt::print(out, "  {}: {}\n", b.block_uuid, d);
    }
  }
  fmt::print(out, "\nBlock outputs (Parquet): {}\n", record.outputs_dir.string());
  fmt::print(out, "Logs: {}\n", record.logs_dir.string());
}

}  // namespace kiln::cli
