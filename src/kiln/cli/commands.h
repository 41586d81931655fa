// cli/commands.h: the `kiln` subcommands. Each returns the process exit status:
// 0 success; 1 the pipeline ran and did not complete; 2 bad input (project, arguments).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace kiln::cli {

struct RunArgs {
  std::filesystem::path project;
  std::string pipeline;
  std::string runtime_vars_json;                  //!< --runtime-vars, a JSON object ("" = none)
  std::string execution_date;                     //!< --execution-date, ISO 8601 ("" = now, UTC)
  std::optional<std::filesystem::path> data_dir;  //!< --data-dir
  int parallel = 0;                               //!< --parallel (0 = cores)
  bool fail_fast = false;                         //!< --fail-fast
  bool verbose = false;                           //!< --verbose: debug lines (rendered SQL) too
  std::optional<int64_t> resume;                  //!< --resume RUN_ID
};

struct RunsArgs {
  std::filesystem::path project;
  std::string pipeline;                           //!< --pipeline ("" = all)
  std::string status;                             //!< --status ("" = any)
  int64_t limit = 20;                             //!< --limit
  std::optional<int64_t> run_id;                  //!< a run's block runs
  std::optional<std::filesystem::path> data_dir;  //!< --data-dir
};

//! `kiln run <project> <pipeline>`: runs one pipeline and prints a summary.
int RunCommand(const RunArgs& args);
struct StartArgs {
  std::filesystem::path project;
  std::string host = "127.0.0.1";                 //!< --host
  int port = 6789;                                //!< --port (0: a free port)
  bool insecure_no_auth = false;                  //!< --insecure-no-auth
  std::optional<std::filesystem::path> data_dir;  //!< --data-dir
};

//! `kiln start <project>`: serves the REST API and runs what it is asked to run, until SIGINT
//! or SIGTERM.
int StartCommand(const StartArgs& args);
//! `kiln runs <project> [RUN_ID]`: lists the pipeline runs in the metadata store, newest first,
//! or one run's block runs.
int RunsCommand(const RunsArgs& args);
//! `kiln pipelines <project>`: lists the project's pipelines.
int PipelinesCommand(const std::filesystem::path& project);
//! `kiln show <project> <pipeline>`: prints blocks, edges and problems of a pipeline.
int ShowCommand(const std::filesystem::path& project, const std::string& pipeline);
//! `kiln init <dir>`: creates a project skeleton laid out as Mage's.
int InitCommand(const std::filesystem::path& dir);

}  // namespace kiln::cli
