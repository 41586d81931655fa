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
  std::string local_cloud;                        //!< --local-cloud DIR ("" = KILN_LOCAL_CLOUD)
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
  std::string local_cloud;                        //!< --local-cloud DIR ("" = KILN_LOCAL_CLOUD)
};

//! `kiln start <project>`: serves the REST API and runs what it is asked to run, until SIGINT
//! or SIGTERM.
int StartCommand(const StartArgs& args);
struct TriggerArgs {
  std::string pipeline;
  std::string runtime_vars_json;              //!< --runtime-vars
  std::string execution_date;                 //!< --execution-date ("" = now)
  std::string url = "http://127.0.0.1:6789";  //!< --url of a running `kiln start`
  bool wait = false;                          //!< --wait: until the run ends
};

struct BackfillArgs {
  std::string pipeline;
  std::string start, end;                     //!< --start, --end (inclusive)
  std::string interval_type = "day";          //!< --interval
  int64_t interval_units = 1;                 //!< --units
  std::string name;                           //!< --name
  std::string runtime_vars_json;              //!< --runtime-vars
  int64_t run_limit = 0;                      //!< --run-limit (0 = the pipeline's)
  std::optional<int64_t> cancel;              //!< --cancel ID
  std::string url = "http://127.0.0.1:6789";  //!< --url
};

//! `kiln trigger <pipeline>`: asks the `kiln start` at --url to run the pipeline (through an API
//! trigger named "kiln trigger", created the first time); prints the run id.
int TriggerCommand(const TriggerArgs& args);
//! `kiln backfill <pipeline> --start D --end D`: creates and starts a backfill on the `kiln
//! start` at --url; `--cancel ID` cancels one.
int BackfillCommand(const BackfillArgs& args);
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
