#include "kiln/blocks/python/bigquery_calls.h"

#include <filesystem>

#include "kiln/blocks/python/call_args.h"
#include "kiln/common/files.h"
#include "kiln/common/names.h"
#include "kiln/common/text.h"
#include "kiln/connectors/bigquery/load_columns.h"
#include "kiln/connectors/cloud/open.h"

namespace kiln::blocks {
namespace fs = std::filesystem;
using connectors::ExportWritePolicy;
using nlohmann::json;

namespace {

ExportWritePolicy PolicyOf(const json& args) {
  std::string disposition = ArgText(args, "write_disposition");
  if (!disposition.empty()) {  // an explicit write_disposition wins over if_exists (Mage)
    if (disposition == "WRITE_TRUNCATE") return ExportWritePolicy::kReplace;
    if (disposition == "WRITE_APPEND") return ExportWritePolicy::kAppend;
    if (disposition == "WRITE_EMPTY") return ExportWritePolicy::kFail;
    throw Error("write_disposition '" + disposition +
                "' is not one of WRITE_TRUNCATE, WRITE_APPEND, WRITE_EMPTY");
  }
  std::string if_exists = ArgText(args, "if_exists", "replace");
  auto policy = connectors::ParseExportWritePolicy(if_exists);
  if (!policy) {
    throw Error("Invalid policy specified for handling existence of table: '" + if_exists + "'");
  }
  return *policy;
}

}  // namespace

connectors::GoogleAuth GoogleAuthFromCall(const json& auth, const std::string& location) {
  connectors::GoogleAuth out;
  out.location = location;
  if (!auth.is_object()) throw Error("no BigQuery credentials were given");
  if (auto it = auth.find("key"); it != auth.end() && it->is_object()) {
    out.source = *it;
    out.origin = "BigQuery credentials_mapping";
  } else if (auto file = auth.find("key_file"); file != auth.end() && file->is_string()) {
    out.source = fs::path(file->get<std::string>());
    out.origin = "BigQuery path_to_credentials " + file->get<std::string>();
  } else if (auto adc = auth.find("adc"); adc != auth.end()) {
    if (adc->is_string()) out.adc_path = adc->get<std::string>();
    out.origin = "Application Default Credentials";
  } else {
    throw Error("BigQuery credentials must be a key mapping, a key file or ADC");
  }
  return out;
}

BigQueryCalls::BigQueryCalls(BlockInvocation& invocation, data::Connection& duck, FrameIo frames,
                             std::vector<std::string>& destinations)
    : inv_(invocation), duck_(duck), frames_(std::move(frames)), destinations_(destinations) {}

json BigQueryCalls::Dispatch(const std::string& method, const json& args,
                             std::vector<python::UniqueFd>& fds,
                             std::vector<python::UniqueFd>& out) {
  if (inv_.services.cloud == nullptr) throw Error("this process has no cloud services");
  const json& auth_args = args.value("auth", json());
  connectors::GoogleAuth auth;
  if (auth_args.is_object() && auth_args.value("missing", false)) {
    // with_config found no key: the stand-in needs none (a warning says what would fail).
    std::string warning;
    auth = connectors::GoogleAuthForProfile(
        config::IoProfile("io_config.yaml", "of BigQuery.with_config", json::object()),
        *inv_.services.cloud, &warning);
    auth.location = ArgText(args, "location");
    if (!warning.empty() && method == "bigquery.open") inv_.log.Warning(warning);
  } else {
    auth = GoogleAuthFromCall(auth_args, ArgText(args, "location"));
  }
  std::unique_ptr<connectors::Warehouse> wh = connectors::OpenWarehouse(
      auth, ArgText(args, "project"), auth.location, inv_.services.engine, *inv_.services.cloud,
      "kiln_" + CleanName(inv_.pipeline.uuid()) + "_" + CleanName(inv_.block.uuid));
  const connectors::CancelFn cancelled = [this] { return inv_.cancel.cancelled(); };

  if (method == "bigquery.open") return {{"project", wh->project()}};
  if (method == "bigquery.execute") {
    wh->Run(ArgText(args, "query"), std::nullopt, ExportWritePolicy::kAppend, cancelled);
    return json::object();
  }
  if (method == "bigquery.load") {
    const std::string table = frames_.scratch();
    data::DropTableOnExit drop(duck_, table);
    const int64_t limit = ArgNumber<int64_t>(args, "limit", 10'000'000);
    wh->Read(ArgText(args, "query"), static_cast<uint64_t>(std::max<int64_t>(limit, 0)), duck_,
             table, cancelled);
    out.push_back(frames_.to_frame(table));
    return {{"kind", "frame"}};
  }
  if (method == "bigquery.export") {
    const std::string table_id = ArgText(args, "table_id");
    if (table_id.empty()) throw Error("Please provide a table_id argument in the export method.");
    const std::string database = ArgText(args, "database");
    connectors::TableRef ref =
        connectors::ParseTableId(table_id, database.empty() ? wh->project() : database);
    const ExportWritePolicy policy = PolicyOf(args);
    wh->EnsureDataset(ref.dataset);
    uint64_t rows = 0;
    const std::string query = ArgText(args, "query_string");
    if (!query.empty()) {
      if (policy == ExportWritePolicy::kFail && wh->TableExists(ref))
        throw Error("Table '" + ref.Display() + "' already exists in database.");
      rows = wh->Run(query, ref, policy, cancelled);
    } else {
      if (fds.empty()) throw Error("no DataFrame was sent");
      if (policy == ExportWritePolicy::kFail && wh->TableExists(ref))
        throw Error("table " + ref.Display() + " already exists and if_exists is 'fail'");
      const std::string relation = frames_.relation(fds[0].get(), /*drop_index=*/true);
      const fs::path tmp = TempSibling(inv_.outputs.BlockDir(inv_.block.uuid) / "export.parquet");
      std::error_code ec;
      fs::create_directories(tmp.parent_path(), ec);
      RemoveOnExit remove(tmp);
      duck_.Execute("COPY (SELECT * FROM " +
                    connectors::bigquery::LoadableSelect(duck_, relation, nullptr) + ") TO " +
                    QuoteLiteral(tmp.string()) + " (FORMAT parquet)");
      rows = wh->LoadParquet(ref, tmp, policy, cancelled);
    }
    destinations_.push_back(
        "BigQuery table " + ref.dataset + "." + ref.table + " in " + wh->Describe() + " (" +
        std::string(connectors::ExportWritePolicyName(policy)) + ", " + CountOf(rows, "row") + ")");
    return {{"rows", rows}, {"table", ref.Display()}};
  }
  throw Error("unknown call '" + method + "'");
}

}  // namespace kiln::blocks
