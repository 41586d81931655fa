// cli/main.cc: the `kiln` command line (CLI11). Subcommands are documented in README.md and by
// `kiln <command> --help`.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "kiln/cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Kiln: runs Mage data pipelines as one native binary", "kiln"};
  app.set_version_flag("--version", std::string("kiln ") + KILN_VERSION);
  app.require_subcommand(1);
  app.footer("Run `kiln <command> --help` for a command's options. Docs: README.md");

  std::filesystem::path project;
  std::string pipeline;

  auto* init = app.add_subcommand("init", "Create a new project folder laid out as Mage's");
  init->add_option("dir", project, "Folder to create (its name is the project's name)")->required();

  auto* list = app.add_subcommand("pipelines", "List the pipelines of a project");
  list->add_option("project", project, "Project folder")->required();

  auto* show = app.add_subcommand("show", "Print a pipeline's blocks, edges and problems");
  show->add_option("project", project, "Project folder")->required();
  show->add_option("pipeline", pipeline, "Pipeline uuid (its folder name)")->required();

  kiln::cli::RunArgs run_args;
  std::string data_dir;
  auto* run = app.add_subcommand("run", "Run one pipeline now and print a per-block summary");
  run->add_option("project", run_args.project, "Project folder")->required();
  run->add_option("pipeline", run_args.pipeline, "Pipeline uuid (its folder name)")->required();
  run->add_option("--runtime-vars", run_args.runtime_vars_json,
                  "Runtime variables as a JSON object, e.g. '{\"source_url\": \"...\"}'");
  run->add_option("--execution-date", run_args.execution_date,
                  "execution_date of the run, ISO 8601 (default: now, UTC)");
  run->add_option("--data-dir", data_dir,
                  "Where block outputs and logs go (default: the project's variables_dir)");
  run->add_option("--parallel", run_args.parallel,
                  "Blocks run at once at most (default: the number of cores)")
      ->check(CLI::NonNegativeNumber);
  run->add_option("--local-cloud", run_args.local_cloud,
                  "Run cloud blocks locally: gs:// and s3:// buckets become folders under DIR, "
                  "BigQuery datasets schemas of DIR/bigquery.duckdb (also KILN_LOCAL_CLOUD)");
  run->add_flag("--fail-fast", run_args.fail_fast, "Cancel the other blocks as soon as one fails");
  run->add_flag("-v,--verbose", run_args.verbose, "Also print debug lines (e.g. rendered SQL)");
  int64_t resume = 0;
  run->add_option("--resume", resume,
                  "Resume pipeline run RUN_ID (see `kiln runs`): its completed blocks are not run "
                  "again, the others are")
      ->check(CLI::PositiveNumber);

  kiln::cli::RunsArgs runs_args;
  std::string runs_data_dir;
  int64_t runs_run_id = 0;
  auto* runs = app.add_subcommand(
      "runs", "List the pipeline runs kept in the metadata store, or one run's block runs");
  runs->add_option("project", runs_args.project, "Project folder")->required();
  runs->add_option("run_id", runs_run_id, "Show this run's block runs")->check(CLI::PositiveNumber);
  runs->add_option("--pipeline", runs_args.pipeline, "Only this pipeline's runs");
  runs->add_option("--status", runs_args.status,
                   "Only runs in this status (initial, running, completed, failed, cancelled)");
  runs->add_option("--limit", runs_args.limit, "At most this many runs, newest first (20)")
      ->check(CLI::PositiveNumber);
  runs->add_option("--data-dir", runs_data_dir,
                   "The data dir the runs were made with (default: the project's variables_dir)");

  kiln::cli::StartArgs start_args;
  std::string start_data_dir;
  auto* start = app.add_subcommand(
      "start", "Serve the REST API (Mage's routes) on port 6789 and run triggered pipelines");
  start->add_option("project", start_args.project, "Project folder")->required();
  start->add_option("--host", start_args.host,
                    "Address to listen on (default 127.0.0.1; another needs --insecure-no-auth)");
  start->add_option("--port", start_args.port, "Port (default 6789; 0 picks a free one)")
      ->check(CLI::Range(0, 65535));
  start->add_flag("--insecure-no-auth", start_args.insecure_no_auth,
                  "Allow a non-loopback --host although Kiln has no user authentication yet");
  start->add_option("--local-cloud", start_args.local_cloud,
                    "Run cloud blocks locally: gs:// and s3:// buckets become folders under DIR, "
                    "BigQuery datasets schemas of DIR/bigquery.duckdb (also KILN_LOCAL_CLOUD)");
  start->add_option("--data-dir", start_data_dir,
                    "Where outputs, logs and the metadata store go (default: variables_dir)");

  kiln::cli::TriggerArgs trigger_args;
  auto* trigger = app.add_subcommand(
      "trigger", "Ask a running `kiln start` to run a pipeline now (under its run limits)");
  trigger->add_option("pipeline", trigger_args.pipeline, "Pipeline uuid")->required();
  trigger->add_option("--runtime-vars", trigger_args.runtime_vars_json,
                      "Runtime variables as a JSON object");
  trigger->add_option("--execution-date", trigger_args.execution_date,
                      "execution_date of the run, ISO 8601 (default: now, UTC)");
  trigger->add_option("--url", trigger_args.url, "The kiln server (http://127.0.0.1:6789)");
  trigger->add_flag("--wait", trigger_args.wait,
                    "Wait until the run ends; exit 0 when it completed, 1 otherwise");

  kiln::cli::BackfillArgs backfill_args;
  int64_t backfill_cancel = 0;
  auto* backfill = app.add_subcommand(
      "backfill", "Ask a running `kiln start` to run a pipeline for each date of a window");
  backfill->add_option("pipeline", backfill_args.pipeline, "Pipeline uuid");
  backfill->add_option("--start", backfill_args.start, "First execution_date (ISO 8601)");
  backfill->add_option("--end", backfill_args.end, "Last execution_date, included (ISO 8601)");
  backfill->add_option("--interval", backfill_args.interval_type,
                       "second, minute, hour, day (default), week, month or year");
  backfill->add_option("--units", backfill_args.interval_units, "Intervals per step (default 1)")
      ->check(CLI::PositiveNumber);
  backfill->add_option("--name", backfill_args.name, "Backfill name");
  backfill->add_option("--runtime-vars", backfill_args.runtime_vars_json,
                       "Variables of every run, a JSON object");
  backfill->add_option("--run-limit", backfill_args.run_limit,
                       "At most this many of its runs at once (default: the pipeline's limit)");
  backfill->add_option("--cancel", backfill_cancel, "Cancel backfill ID instead")
      ->check(CLI::PositiveNumber);
  backfill->add_option("--url", backfill_args.url, "The kiln server (http://127.0.0.1:6789)");

  CLI11_PARSE(app, argc, argv);
  if (backfill_cancel > 0) backfill_args.cancel = backfill_cancel;
  if (!start_data_dir.empty()) start_args.data_dir = start_data_dir;
  if (!data_dir.empty()) run_args.data_dir = data_dir;
  if (resume > 0) run_args.resume = resume;
  if (!runs_data_dir.empty()) runs_args.data_dir = runs_data_dir;
  if (runs_run_id > 0) runs_args.run_id = runs_run_id;

  if (init->parsed()) return kiln::cli::InitCommand(project);
  if (list->parsed()) return kiln::cli::PipelinesCommand(project);
  if (show->parsed()) return kiln::cli::ShowCommand(project, pipeline);
  if (run->parsed()) return kiln::cli::RunCommand(run_args);
  if (runs->parsed()) return kiln::cli::RunsCommand(runs_args);
  if (start->parsed()) return kiln::cli::StartCommand(start_args);
  if (trigger->parsed()) return kiln::cli::TriggerCommand(trigger_args);
  if (backfill->parsed()) return kiln::cli::BackfillCommand(backfill_args);
  return 2;
}
