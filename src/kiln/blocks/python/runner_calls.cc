#include "kiln/blocks/python/runner_calls.h"

#include <sys/file.h>

#include <charconv>
#include <filesystem>

#include "kiln/blocks/python/bigquery_calls.h"
#include "kiln/blocks/python/call_args.h"
#include "kiln/blocks/python/python_services.h"
#include "kiln/common/files.h"
#include "kiln/common/names.h"
#include "kiln/common/text.h"
#include "kiln/common/yaml.h"
#include "kiln/config/io_config.h"
#include "kiln/data/engine.h"
#include "kiln/python/frame.h"
#include "kiln/template/env_functions.h"

namespace kiln::blocks {
namespace fs = std::filesystem;
namespace pg = connectors::postgres;
using nlohmann::json;

namespace {

std::string ReaderFor(const std::string& format) {
  if (format == "parquet") return "read_parquet";
  if (format == "json" || format == "ndjson" || format == "jsonl") return "read_json_auto";
  if (format == "csv" || format == "tsv" || format == "txt") return "read_csv_auto";
  throw Error("format '" + format + "' is not supported (csv, parquet, json)");
}

}  // namespace

RunnerCalls::RunnerCalls(BlockInvocation& invocation, data::Connection& duck)
    : inv_(invocation), duck_(duck) {}

RunnerCalls::~RunnerCalls() = default;  // connections close (and roll back) with their sessions

void RunnerCalls::Cancel() {
  std::lock_guard lock(cancel_mu_);
  for (auto& [id, session] : pg_) session.connection->Cancel();
}

std::string RunnerCalls::ScratchTable() {
  return std::string(data::Engine::kOutputCatalog) + ".main." +
         QuoteIdentifier("kiln_py_" + CleanName(inv_.block.uuid) + "_" +
                         std::to_string(inv_.attempt) + "_" + std::to_string(next_scratch_++));
}

std::string RunnerCalls::FrameRelation(int fd, bool drop_index) {
  python::FrameInfo info = python::ReadFrameInfo(fd);
  if (info.columns.empty()) throw Error("the DataFrame has no columns");
  python::RegisterFrameScan(duck_);
  std::string relation = python::FrameRelationSql(fd);
  std::string excluded;
  if (drop_index && info.index.is_object()) {
    for (const auto& c : info.index.value("columns", json::array()))
      if (c.is_string())
        excluded += (excluded.empty() ? "" : ", ") + QuoteIdentifier(c.get<std::string>());
  }
  return excluded.empty() ? relation
                          : "(SELECT * EXCLUDE (" + excluded + ") FROM " + relation + ")";
}

python::UniqueFd RunnerCalls::RelationToFrame(const std::string& relation_sql) {
  return python::WriteFrame(duck_, relation_sql, json::object(), nullptr).first;
}

RunnerCalls::PgSession& RunnerCalls::Session(const json& args) {
  auto it = pg_.find(ArgNumber(args, "connection", -1));
  if (it == pg_.end()) throw Error("no open PostgreSQL connection (use `with Postgres...`)");
  return it->second;
}

RunnerCalls::Reply RunnerCalls::Handle(const json& call, std::vector<python::UniqueFd> fds) {
  Reply reply;
  reply.body = {{"op", "reply"}, {"id", call.value("id", 0)}};
  const std::string method = call.value("method", "");
  try {
    reply.body["result"] = Dispatch(method, call.value("args", json::object()), fds, reply.fds);
  } catch (const std::exception& e) {
    reply.body["error"] = method + ": " + e.what();
  }
  return reply;
}

json RunnerCalls::Dispatch(const std::string& method, const json& args,
                           std::vector<python::UniqueFd>& fds, std::vector<python::UniqueFd>& out) {
  if (method.starts_with("objects.")) return cloud_.Dispatch(method, args, fds, out);
  if (method.starts_with("bigquery.")) {
    if (!bigquery_) {
      bigquery_ = std::make_unique<BigQueryCalls>(
          inv_, duck_,
          FrameIo{[this](int fd, bool drop_index) { return FrameRelation(fd, drop_index); },
                  [this](const std::string& relation) { return RelationToFrame(relation); },
                  [this] { return ScratchTable(); }},
          destinations_);
    }
    return bigquery_->Dispatch(method, args, fds, out);
  }
  // -- io_config.yaml ---------------------------------------------------------------------
  if (method == "io_config.profile") {
    fs::path path = ArgText(args, "path", (inv_.project.root() / "io_config.yaml").string());
    config::IoConfig io = fs::exists(path)
                              ? config::IoConfig::Parse(ReadFile(path), path.string(), inv_.env)
                              : config::IoConfig::Load(inv_.project.root(), inv_.env);
    std::string profile = ArgText(args, "profile", "default");
    if (!io.HasProfile(profile)) return {{"missing_profile", true}};
    json values = json::object();
    config::IoProfile p = io.Profile(profile);
    for (auto& [key, value] : p.values().items()) {
      if (value.is_string() && templating::FindUnsetEnvMarker(value.get<std::string>())) {
        inv_.log.Warning(path.string() + ": " + key + " in profile '" + profile +
                         "' uses an environment variable that is not set; it reads as None");
        values[key] = nullptr;
      } else {
        values[key] = value;
      }
    }
    return {{"values", values}};
  }

  // -- PostgreSQL -------------------------------------------------------------------------
  if (method == "postgres.open") {
    const json& s = args.value("settings", json::object());
    pg::ConnectionSettings settings;
    settings.host = ArgText(s, "host", "localhost");
    settings.port = ArgNumber(s, "port", 5432);
    settings.dbname = ArgText(s, "dbname", "postgres");
    settings.user = ArgText(s, "user");
    settings.password = ArgText(s, "password");
    settings.schema = ArgText(s, "schema");
    settings.connect_timeout_seconds = ArgNumber(s, "connect_timeout", 10);
    auto connection = pg::Connection::Open(settings);
    std::lock_guard lock(cancel_mu_);
    int id = next_session_++;
    pg_[id] = PgSession{std::move(connection), false};
    return {{"connection", id}};
  }
  if (method == "postgres.close") {
    std::lock_guard lock(cancel_mu_);
    pg_.erase(ArgNumber(args, "connection", -1));
    return json::object();
  }
  if (method == "postgres.execute") {
    PgSession& session = Session(args);
    if (args.value("commit", false) || args.value("rollback", false)) {
      if (session.in_transaction)
        session.connection->Execute(args.value("commit", false) ? "COMMIT" : "ROLLBACK");
      session.in_transaction = false;
      return json::object();
    }
    if (!session.in_transaction) {  // psycopg2's implicit transaction: commit() makes it stay
      session.connection->Execute("BEGIN");
      session.in_transaction = true;
    }
    session.connection->Execute(ArgText(args, "sql"));
    return json::object();
  }
  if (method == "postgres.load") {
    PgSession& session = Session(args);
    const std::string table = ScratchTable();
    pg::LoadQuery(*session.connection, ArgText(args, "query"), duck_, table);
    try {
      out.push_back(RelationToFrame(table));
    } catch (...) {
      duck_.Execute("DROP TABLE IF EXISTS " + table);
      throw;
    }
    duck_.Execute("DROP TABLE IF EXISTS " + table);
    return {{"kind", "frame"}};
  }
  if (method == "postgres.export") {
    PgSession& session = Session(args);
    if (args.contains("query")) {
      throw Error("export(query_string=...) is not supported yet; run the query with execute()");
    }
    if (fds.empty()) throw Error("no DataFrame was sent");
    // export(index=False): the index is not a column of the table.
    const std::string relation = FrameRelation(fds[0].get(), /*drop_index=*/true);
    pg::ExportOptions options;
    options.schema = ArgText(args, "schema",
                             session.connection->settings().schema.empty()
                                 ? "public"
                                 : session.connection->settings().schema);
    options.table = ArgText(args, "table");
    options.policy = connectors::ParseExportWritePolicy(ArgText(args, "if_exists", "replace"))
                         .value_or(connectors::ExportWritePolicy::kReplace);
    options.clean_column_names = args.value("auto_clean_name", true);
    options.cancelled = [this] { return inv_.cancel.cancelled(); };
    pg::ExportResult result = pg::ExportRelation(duck_, relation, *session.connection, options);
    if (session.in_transaction) {  // Mage's export commits the connection's transaction
      session.connection->Execute("COMMIT");
      session.in_transaction = false;
    }
    // The run layer logs each destination when the block completes.
    destinations_.push_back("PostgreSQL " + session.connection->settings().Describe() + " table " +
                            options.schema + "." + options.table + " (" +
                            std::string(connectors::ExportWritePolicyName(options.policy)) + ", " +
                            CountOf(result.rows, "row") + ", binary COPY)");
    return {{"rows", result.rows}, {"table", result.qualified_table}};
  }

  // -- block outputs and pipeline variables ------------------------------------------------
  if (method == "variables.get") {
    inv_.services.python->writer.Drain();  // outputs still being stored are read complete
    std::string pipeline = ArgText(args, "pipeline_uuid", inv_.pipeline.uuid());
    data::OutputStore store =
        pipeline == inv_.pipeline.uuid() ? inv_.outputs : inv_.outputs.ForPipeline(pipeline);
    std::string name = ArgText(args, "variable_name", "output_0");
    if (name == "df") name = "output_0";
    for (const auto& o : store.ListOutputs(ArgText(args, "block_uuid"))) {
      if (o.dir.filename() != name) continue;
      if (!o.is_table()) return {{"kind", "json"}, {"value", o.JsonValue()}};
      out.push_back(
          python::WriteFrame(duck_, o.ParquetRelationSql(), o.PandasDtypes(), o.Index()).first);
      return {{"kind", "frame"}};
    }
    throw Error("block '" + ArgText(args, "block_uuid") + "' of pipeline '" + pipeline +
                "' has no stored output " + name);
  }
  if (method == "variables.get_global" || method == "variables.set_global") {
    std::string pipeline = ArgText(args, "pipeline_uuid", inv_.pipeline.uuid());
    fs::path file = inv_.project.root() / "pipelines" / pipeline / "metadata.yaml";
    python::UniqueFd lock(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!lock) throw Error(file.string() + ": no such pipeline file");
    ::flock(lock.get(), method == "variables.get_global" ? LOCK_SH : LOCK_EX);  // other writers
    YAML::Node doc = LoadYamlFile(file);
    if (method == "variables.get_global") {
      json vars = doc["variables"] ? YamlToJson(doc["variables"]) : json::object();
      if (!args.contains("key")) return {{"value", vars}};
      auto it = vars.find(ArgText(args, "key"));
      return {{"value", it == vars.end() ? json() : *it}};
    }
    if (!doc["variables"] || !doc["variables"].IsMap())
      doc["variables"] = YAML::Node(YAML::NodeType::Map);
    if (args.value("delete", false)) {
      doc["variables"].remove(ArgText(args, "key"));
    } else {
      doc["variables"][ArgText(args, "key")] = JsonToYaml(args.value("value", json()));
    }
    WriteFileAtomic(file, DumpYaml(doc));
    return json::object();
  }

  // -- local files through DuckDB ----------------------------------------------------------
  if (method == "file.load") {
    std::string list;
    for (const auto& p : args.value("paths", json::array()))
      list += (list.empty() ? "" : ", ") + QuoteLiteral(p.get<std::string>());
    if (list.empty()) throw Error("no file to load");
    std::string relation = "(SELECT * FROM " + ReaderFor(ArgText(args, "format", "csv")) + "([" +
                           list + "]) LIMIT " +
                           std::to_string(ArgNumber(args, "limit", 10'000'000)) + ")";
    out.push_back(RelationToFrame(relation));
    return {{"kind", "frame"}};
  }
  if (method == "file.export") {
    if (fds.empty()) throw Error("no DataFrame was sent");
    fs::path path = ArgText(args, "path");
    std::string format = ArgText(args, "format", "csv");
    std::string options = format == "parquet" ? "FORMAT parquet"
                          : format == "json"  ? "FORMAT json"
                                              : "FORMAT csv, HEADER true";
    ReaderFor(format);  // rejects unknown formats
    const std::string relation = FrameRelation(fds[0].get(), /*drop_index=*/false);
    fs::path tmp = TempSibling(path);
    try {
      duck_.Execute("COPY (SELECT * FROM " + relation + ") TO " + QuoteLiteral(tmp.string()) +
                    " (" + options + ")");
      fs::rename(tmp, path);
      destinations_.push_back("file " + path.string());
    } catch (...) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw;
    }
    return json::object();
  }
  throw Error("unknown call '" + method + "'");
}

}  // namespace kiln::blocks
