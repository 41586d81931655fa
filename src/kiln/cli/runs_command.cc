// `kiln runs`: the pipeline runs kept in the metadata store, as a table.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "kiln/cli/commands.h"
#include "kiln/cli/console.h"
#include "kiln/cli/paths.h"
#include "kiln/project/project.h"
#include "kiln/store/metadata_store.h"

namespace kiln::cli {
namespace {

std::string Time(const std::optional<DateTime>& t) {
  return t ? DateTime(t->wall_micros(), std::nullopt).Strftime("%Y-%m-%d %H:%M:%S") : "-";
}

std::string Duration(const std::optional<DateTime>& from, const std::optional<DateTime>& to) {
  if (!from || !to) return "-";
  return FormatDuration(std::chrono::milliseconds((to->utc_micros() - from->utc_micros()) / 1000));
}

void PrintRuns(const std::vector<store::PipelineRun>& runs) {
  size_t width = 8;
  for (const auto& r : runs) width = std::max(width, r.pipeline_uuid.size());
  fmt::print("{:>6}  {:<{}}  {:<10} {:<19}  {:<19} {:>10}  {}\n", "RUN", "PIPELINE", width,
             "STATUS", "EXECUTION DATE", "STARTED (UTC)", "DURATION", "TRIGGER");
  for (const auto& r : runs) {
    fmt::print("{:>6}  {:<{}}  {:<10} {:<19}  {:<19} {:>10}  {}\n", r.id, r.pipeline_uuid, width,
               r.status, Time(r.execution_date), Time(r.started_at),
               Duration(r.started_at, r.completed_at),
               r.pipeline_schedule_id ? std::to_string(*r.pipeline_schedule_id) : "-");
  }
}

void PrintBlockRuns(const store::PipelineRun& run, const std::vector<store::BlockRun>& blocks) {
  fmt::print("Pipeline run {} of {}: {} (execution_date {})\n\n", run.id, run.pipeline_uuid,
             run.status, Time(run.execution_date));
  size_t width = 5;
  for (const auto& b : blocks) width = std::max(width, b.block_uuid.size());
  fmt::print("  {:<{}}  {:<16} {:<19} {:>10} {:>12}\n", "BLOCK", width, "STATUS", "STARTED (UTC)",
             "DURATION", "ROWS");
  for (const auto& b : blocks) {
    std::string rows = "-";
    if (b.metrics.is_object() && b.metrics.contains("rows")) rows = b.metrics["rows"].dump();
    fmt::print("  {:<{}}  {:<16} {:<19} {:>10} {:>12}\n", b.block_uuid, width, b.status,
               Time(b.started_at), Duration(b.started_at, b.completed_at), rows);
  }
  for (const auto& b : blocks) {
    if (b.metrics.is_object() && b.metrics.contains("error")) {
      fmt::print("\n  {}: {}\n", b.block_uuid, b.metrics["error"].value("message", ""));
    }
  }
}

}  // namespace

int RunsCommand(const RunsArgs& args) {
  try {
    Environment env = ProjectEnvironment(args.project);
    project::Project project = project::Project::Open(args.project, env);
    project::VariablesDir dir = project::ResolveVariablesDir(project, env, args.data_dir);
    store::StoreLocation location = store::StoreLocationFrom(env.vars(), dir.path.string());
    std::error_code ec;
    if (location.postgres_url.empty() && !std::filesystem::exists(location.sqlite_path, ec)) {
      fmt::print("No pipeline runs yet ({} does not exist).\n", location.sqlite_path);
      return 0;
    }
    std::unique_ptr<store::MetadataStore> metadata = store::MetadataStore::Open(location);
    if (args.run_id) {
      std::optional<store::PipelineRun> run = metadata->GetPipelineRun(*args.run_id);
      if (!run) {
        throw Error("no pipeline run " + std::to_string(*args.run_id) + " in " +
                    metadata->Describe());
      }
      PrintBlockRuns(*run, metadata->ListBlockRuns(run->id));
      return 0;
    }
    store::RunFilter filter;
    filter.pipeline_uuid = args.pipeline;
    if (!args.status.empty()) {
      if (!store::IsPipelineRunStatus(args.status)) {
        throw Error("--status '" + args.status +
                    "' is not one of initial, running, completed, failed, cancelled");
      }
      filter.statuses = {args.status};
    }
    filter.limit = args.limit;
    std::vector<store::PipelineRun> runs = metadata->ListPipelineRuns(filter);
    if (runs.empty()) {
      fmt::print("No pipeline runs{}.\n",
                 args.pipeline.empty() ? "" : " of pipeline " + args.pipeline);
      return 0;
    }
    PrintRuns(runs);
    const int64_t total = metadata->CountPipelineRuns(filter);
    if (total > static_cast<int64_t>(runs.size())) {
      fmt::print("({} of {} runs; --limit shows more)\n", runs.size(), total);
    }
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "kiln: error: {}\n", e.what());
    return 2;
  }
}

}  // namespace kiln::cli
