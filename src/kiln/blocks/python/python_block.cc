#include "kiln/blocks/python/python_block.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "kiln/blocks/python/python_services.h"
#include "kiln/blocks/python/runner_calls.h"
#include "kiln/common/names.h"
#include "kiln/common/text.h"
#include "kiln/data/engine.h"
#include "kiln/python/frame.h"
#include "kiln/python/host.h"

namespace kiln::blocks {
namespace {

using nlohmann::json;
using python::UniqueFd;

constexpr size_t kMaxFdsPerMessage = 8;  // python/channel.h

// Reads the child's stdout and stderr (one pipe) and writes each line to the block's log.
// Stops at end of file, or once Stop() was called and the pipe has been quiet for a moment
// (a grandchild the block started may keep the pipe open forever).
class OutputPump {
 public:
  OutputPump(UniqueFd read_end, BlockLog& log)
      : fd_(std::move(read_end)), log_(log), thread_([this] { Loop(); }) {}
  ~OutputPump() { Stop(); }
  OutputPump(const OutputPump&) = delete;
  OutputPump& operator=(const OutputPump&) = delete;

  //! Drains what the child wrote and joins the thread.
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    std::string pending;
    char buffer[65536];
    while (true) {
      pollfd p{fd_.get(), POLLIN, 0};
      int ready = ::poll(&p, 1, 100);
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) {
        if (stop_) break;
        continue;
      }
      ssize_t n = ::read(fd_.get(), buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pending.append(buffer, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1)
        log_.Info(std::string_view(pending).substr(start, nl - start));
      pending.erase(0, start);
    }
    if (!pending.empty()) log_.Info(pending);
  }

  UniqueFd fd_;
  BlockLog& log_;
  std::atomic<bool> stop_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

std::string Millis(std::chrono::steady_clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

LogLevel LevelOf(const std::string& name) {
  if (name == "DEBUG") return LogLevel::kDebug;
  if (name == "WARNING" || name == "WARN") return LogLevel::kWarning;
  if (name == "ERROR" || name == "CRITICAL" || name == "FATAL") return LogLevel::kError;
  return LogLevel::kInfo;
}

// What Mage records in data_column_types.json (§7.3): str(dtype), but for an object column the
// Python type of its values ("str", "date"); reading back treats any of those as object.
std::string MageColumnType(const python::FrameColumnInfo& column) {
  if (column.pandas_dtype != "object") return column.pandas_dtype;
  if (column.kind == "string") return "str";
  if (column.kind == "date") return "date";
  return column.pandas_dtype;
}

// Mage's block type names as its decorators are called (data_loader, transformer, ...).
std::string MageType(const project::BlockSpec& block) {
  return std::string(project::BlockTypeName(block.type));
}

// The upstream outputs as the start message lists them; frames are appended to `fds`: the
// cached frame a Python upstream block returned, else one written from its Parquet file.
json Inputs(BlockInvocation& inv, data::Connection& duck, std::vector<SharedFrame>& fds) {
  json inputs = json::array();
  for (const auto& upstream : inv.upstream) {
    json outputs = json::array();
    for (const auto& output : upstream.outputs) {
      if (output.is_table()) {
        SharedFrame frame = inv.services.python->frames.Get(output);
        if (!frame) {
          frame = std::make_shared<const UniqueFd>(
              python::WriteFrame(duck, output.ParquetRelationSql(), output.PandasDtypes(),
                                 output.Index())
                  .first);
        }
        fds.push_back(std::move(frame));
        outputs.push_back({{"kind", "frame"}, {"fd", fds.size() - 1}});
      } else {
        outputs.push_back({{"kind", "json"}, {"value", output.JsonValue()}});
      }
    }
    inputs.push_back({{"block_uuid", upstream.block_uuid}, {"outputs", outputs}});
  }
  return inputs;
}

json StartMessage(BlockInvocation& inv, json inputs, size_t fd_count) {
  const project::BlockSpec& block = inv.block;
  json start = {
      {"op", "start"},
      {"block",
       {{"uuid", block.uuid},
        {"type", MageType(block)},
        {"file_path", block.file_path.string()},
        {"content", block.content ? json(*block.content) : json()},
        {"configuration", block.configuration},
        {"upstream_blocks", block.upstream_blocks}}},
      {"pipeline_uuid", inv.pipeline.uuid()},
      {"repo_path", inv.project.root().string()},
      {"inputs", std::move(inputs)},
      {"fd_count", fd_count},
      {"variables", inv.vars.values},
      {"execution_date",
       inv.vars.execution_date ? json(inv.vars.execution_date->IsoFormat()) : json()},
      {"env", inv.vars.env},
      {"execution_partition", inv.vars.execution_partition},
      {"pipeline_run_id", inv.vars.pipeline_run_id ? json(*inv.vars.pipeline_run_id) : json()},
      {"attempt", inv.attempt},
      {"run_tests", true},
  };
  return start;
}

// Sends the start message with the first frames, then the rest in {"op": "fds"} messages.
void SendStart(python::Channel& channel, const json& start, const std::vector<SharedFrame>& fds) {
  std::vector<int> raw;
  for (const auto& fd : fds) raw.push_back(fd->get());
  size_t first = std::min(raw.size(), kMaxFdsPerMessage);
  channel.Send(start, std::vector<int>(raw.begin(), raw.begin() + first));
  for (size_t i = first; i < raw.size(); i += kMaxFdsPerMessage) {
    size_t end = std::min(raw.size(), i + kMaxFdsPerMessage);
    channel.Send({{"op", "fds"}}, std::vector<int>(raw.begin() + i, raw.begin() + end));
  }
}

// Serves one child: stores its outputs, answers its calls, returns its result message.
class Session {
 public:
  Session(BlockInvocation& inv, python::ChildProcess& child, data::Connection& duck)
      : inv_(inv), child_(child), duck_(duck), calls_(inv, duck) {}

  //! The child's result message, or nullopt when the channel closed without one.
  std::optional<json> Serve() {
    while (true) {
      std::optional<python::Message> message;
      try {
        message = child_.channel().Receive();
      } catch (const python::ChannelError&) {
        return std::nullopt;  // the child died mid-message: its exit status tells why
      }
      if (!message) return std::nullopt;
      const std::string op = message->body.value("op", "");
      if (op == "result") return std::move(message->body);
      if (op == "log") {
        inv_.log.Write(LevelOf(message->body.value("level", "INFO")),
                       message->body.value("message", ""));
      } else if (op == "output") {
        StoreOutput(message->body, message->fds);
      } else if (op == "call") {
        RunnerCalls::Reply reply = calls_.Handle(message->body, std::move(message->fds));
        std::vector<int> fds;
        for (const auto& fd : reply.fds) fds.push_back(fd.get());
        child_.channel().Send(reply.body, fds);
      } else {
        throw BlockError("block '" + inv_.block.uuid + "': unexpected message '" + op +
                         "' from its Python process");
      }
    }
  }

  void Cancel() { calls_.Cancel(); }
  std::vector<data::StoredOutput>& outputs() { return outputs_; }
  const std::vector<std::string>& destinations() const { return calls_.destinations(); }

 private:
  void StoreOutput(const json& body, std::vector<UniqueFd>& fds) {
    int index = body.value("index", 0);
    if (body.value("kind", "") == "frame") {
      if (fds.empty()) throw BlockError("block '" + inv_.block.uuid + "': output without data");
      outputs_.push_back(StoreFrame(index, std::make_shared<const UniqueFd>(std::move(fds[0]))));
    } else {
      json type = body.value("variable_type", json());
      outputs_.push_back(inv_.outputs.WriteJson(inv_.block.uuid, index, body.value("value", json()),
                                                type.is_string() ? type.get<std::string>() : ""));
    }
  }

  // The output is known from the frame's header at once; its files are written in the
  // background (StoredOutput::written) while the next blocks run, and downstream Python blocks
  // take the frame itself from the cache.
  data::StoredOutput StoreFrame(int index, SharedFrame frame) {
    python::FrameInfo info = python::ReadFrameInfo(frame->get());
    data::StoredOutput output;
    output.index = index;
    output.dir = inv_.outputs.OutputDir(inv_.block.uuid, index);
    output.type = "dataframe";
    output.rows = info.rows;
    if (info.index.is_object()) {
      for (const auto& c : info.index.value("columns", json::array()))
        if (c.is_string()) output.index_columns.push_back(c.get<std::string>());
    }
    data::OutputStore::PandasInfo pandas;
    for (const auto& c : info.columns) pandas.dtypes[c.name] = MageColumnType(c);
    pandas.index = info.index;

    PythonServices& python = *inv_.services.python;
    struct stat st {};
    ::fstat(frame->get(), &st);
    python.frames.Put(output.dir, frame, static_cast<uint64_t>(st.st_size));
    output.written = python.writer.Submit([engine = &inv_.services.engine, store = inv_.outputs,
                                           uuid = inv_.block.uuid, index, frame,
                                           pandas = std::move(pandas), frames = &python.frames,
                                           dir = output.dir] {
      std::unique_ptr<data::Connection> duck = engine->Connect();
      try {
        python::RegisterFrameScan(*duck);
        store.WriteDataFrame(*duck, uuid, index, python::FrameRelationSql(frame->get()), pandas);
      } catch (...) {
        frames->Forget(dir);
        throw;
      }
      frames->Written(dir);
    });
    return output;
  }

  BlockInvocation& inv_;
  python::ChildProcess& child_;
  data::Connection& duck_;
  RunnerCalls calls_;
  std::vector<data::StoredOutput> outputs_;
};

}  // namespace

BlockResult PythonBlockRunner::Run(BlockInvocation& inv) {
  const std::string name = "block '" + inv.block.uuid + "'";
  if (!inv.services.python) {
    throw BlockError(name +
                     ": Python blocks need the kiln-python host, which this process was "
                     "not given");
  }
  python::Host* host = nullptr;
  try {
    host = &inv.services.python->hosts.For(inv.project, inv.env);
  } catch (const python::HostError& e) {
    throw BlockError(name + ": cannot start Python: " + e.what());
  }

  std::unique_ptr<data::Connection> duck = inv.services.engine.Connect();
  std::vector<SharedFrame> frames;
  auto inputs_start = std::chrono::steady_clock::now();
  json inputs = Inputs(inv, *duck, frames);
  if (!frames.empty()) {
    inv.log.Debug("inputs: " + CountOf(frames.size(), "frame") + " written in " +
                  Millis(std::chrono::steady_clock::now() - inputs_start));
  }

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw BlockError(name + ": cannot create a pipe");
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  OutputPump pump(std::move(read_end), inv.log);

  std::unique_ptr<python::ChildProcess> child;
  try {
    child = host->Spawn("kiln_runtime:main", {{"block_uuid", inv.block.uuid}}, write_end.get());
  } catch (const python::HostError& e) {
    throw BlockError(name + ": cannot start its Python process: " + e.what());
  }
  write_end.Reset();  // the child holds the only write ends: end of file when it exits

  Session session(inv, *child, *duck);
  CancelToken::Registration registration(inv.cancel, [&] {
    child->Kill();
    session.Cancel();
  });

  std::optional<json> result;
  try {
    SendStart(child->channel(), StartMessage(inv, std::move(inputs), frames.size()), frames);
    frames.clear();  // the child has its own copies now
    result = session.Serve();
  } catch (const python::ChannelError&) {
    // the child died before reading its start message; its exit status says why
  }

  std::optional<python::ExitStatus> status = child->WaitFor(std::chrono::seconds(10));
  if (!status) {  // it reported a result but does not exit (e.g. a non-daemon thread)
    child->Kill();
    status = child->Wait();
  }
  pump.Stop();

  if (inv.cancel.cancelled()) throw BlockError(name + " " + inv.cancel.reason());
  if (!result) {
    throw BlockError(name + ": its Python process " + status->Describe() +
                     " before the block finished");
  }
  if (result->value("status", "") != "completed") {
    throw BlockError(name + " failed: " + result->value("error", std::string("unknown error")));
  }

  BlockResult out;
  out.outputs = std::move(session.outputs());
  std::sort(out.outputs.begin(), out.outputs.end(),
            [](const auto& a, const auto& b) { return a.index < b.index; });
  inv.outputs.RemoveOutputsFrom(inv.block.uuid, static_cast<int>(out.outputs.size()));
  if (!out.outputs.empty() && out.outputs.front().is_table()) out.rows = out.outputs.front().rows;
  out.destinations = session.destinations();
  return out;
}

}  // namespace kiln::blocks
