// blocks/python/runner_calls.h: what a Python block's process asks the runner to do.
// The mage_ai package (python/mage_ai) moves data through Kiln's native paths, which live in the
// runner: PostgreSQL through connectors/postgres (binary COPY from the DataFrame's frame), local
// files through DuckDB, io_config.yaml through config/, other blocks' stored outputs and the
// pipeline's variables through the output store and the project. One RunnerCalls serves one
// block run, on the thread that serves its process.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "kiln/blocks/block_runner.h"
#include "kiln/blocks/python/cloud_calls.h"
#include "kiln/connectors/postgres/postgres.h"
#include "kiln/data/duckdb.h"
#include "kiln/python/unique_fd.h"

namespace kiln::blocks {

class BigQueryCalls;

class RunnerCalls {
 public:
  //! `duck` is a DuckDB connection of the run's engine, used for scratch tables.
  RunnerCalls(BlockInvocation& invocation, data::Connection& duck);
  //! Closes the PostgreSQL connections the block left open (an open transaction rolls back).
  ~RunnerCalls();
  RunnerCalls(const RunnerCalls&) = delete;
  RunnerCalls& operator=(const RunnerCalls&) = delete;

  struct Reply {
    nlohmann::json body;                //!< {"op": "reply", "id": n, "result": ...} or "error"
    std::vector<python::UniqueFd> fds;  //!< frames sent with the reply
  };

  //! Handles one {"op": "call", "id", "method", "args"} message with its `fds`. Never throws for
  //! a failing call: the reply carries a one-line "error" the block's Python code raises as
  //! RunnerError. Methods: io_config.profile, postgres.open / close / execute / load / export,
  //! variables.get / get_global / set_global, file.load / file.export, objects.* (CloudCalls)
  //! and bigquery.* (BigQueryCalls).
  Reply Handle(const nlohmann::json& call, std::vector<python::UniqueFd> fds);

  //! Interrupts the PostgreSQL statements running for this block (thread-safe).
  void Cancel();

  //! Where the block's calls wrote data so far, e.g. "PostgreSQL table ny_taxi.yellow_cab_data
  //! (replace)" or "file /data/out.csv", for the run summary.
  const std::vector<std::string>& destinations() const { return destinations_; }

 private:
  nlohmann::json Dispatch(const std::string& method, const nlohmann::json& args,
                          std::vector<python::UniqueFd>& fds, std::vector<python::UniqueFd>& out);
  struct PgSession {
    std::unique_ptr<connectors::postgres::Connection> connection;
    bool in_transaction = false;
  };
  PgSession& Session(const nlohmann::json& args);
  std::string ScratchTable();
  //! The frame in `fd` as a relation of the runner's DuckDB connection (python/frame.h
  //! kiln_frame), read in place; with `drop_index`, without the columns holding its index.
  //! `fd` must stay open while the relation is read.
  std::string FrameRelation(int fd, bool drop_index);
  //! The rows of `relation_sql` as a frame for the Python side.
  python::UniqueFd RelationToFrame(const std::string& relation_sql);

  BlockInvocation& inv_;
  data::Connection& duck_;
  std::map<int, PgSession> pg_;
  int next_session_ = 1;
  int next_scratch_ = 0;
  std::vector<std::string> destinations_;
  CloudCalls cloud_{inv_, duck_, destinations_};
  std::mutex cancel_mu_;
  std::unique_ptr<BigQueryCalls> bigquery_;  //!< serves "bigquery.*" (bigquery_calls.h)
};

}  // namespace kiln::blocks
