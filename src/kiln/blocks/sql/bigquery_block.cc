// blocks/sql/bigquery_block.cc: SQL blocks with data_provider: bigquery (spec §8.1,
// docs/design/cloud.md §10), on BigQuery or, with --local-cloud, on its DuckDB stand-in; the
// block never knows which (connectors::OpenWarehouse decides).
//  - The course's exporter `SELECT * FROM {{ df_N }}` is one load job of the upstream output
//    (spaces in column names become '_', as Mage's export does) into the target table.
//  - Otherwise the upstream outputs the SQL names are loaded (replace) into
//    <dataset>.<pipeline>_<upstream>_v1, {{ df_N }} becomes project.dataset.table, and the SQL
//    runs as one query job writing the target table under export_write_policy; the output is
//    the target's rows, read back (at most limit_in_pipeline_run).
//  - use_raw_sql: each statement is one job, the last SELECT read back as the output;
//    disable_query_preprocessing: the whole text is one job and there is no output.
#include <atomic>
#include <filesystem>
#include <optional>
#include <set>
#include <thread>

#include "kiln/blocks/sql/block_sql.h"
#include "kiln/blocks/sql/template_context.h"
#include "kiln/common/files.h"
#include "kiln/common/names.h"
#include "kiln/common/text.h"
#include "kiln/connectors/bigquery/load_columns.h"
#include "kiln/connectors/cloud/open.h"
#include "kiln/data/engine.h"

namespace kiln::blocks::sql {
namespace {

namespace fs = std::filesystem;
using connectors::ExportWritePolicy;
using connectors::TableRef;
using connectors::Warehouse;

constexpr uint64_t kQueryRowLimit = 10'000'000;  // Mage's QUERY_ROW_LIMIT

// min(limit_in_pipeline_run or 10M, 10M), as Mage reads a SQL block's output back (§8.1 step 4).
uint64_t RowLimit(const project::BlockSpec& block) {
  auto it = block.configuration.find("limit_in_pipeline_run");
  if (it == block.configuration.end()) return kQueryRowLimit;
  int64_t n = 0;
  if (it->is_number_integer()) {
    n = it->get<int64_t>();
  } else if (it->is_string()) {
    try {
      n = std::stoll(it->get<std::string>());
    } catch (...) {
      n = 0;
    }
  }
  return n > 0 ? std::min<uint64_t>(static_cast<uint64_t>(n), kQueryRowLimit) : kQueryRowLimit;
}

// An upstream whose result is already a BigQuery table on the same profile is read there (Mage's
// should_cache_data_from_upstream is false for it, §8.1 step 5).
std::optional<TableRef> UpstreamTableInBigQuery(const BlockInvocation& inv,
                                                const project::BlockSpec& up,
                                                const std::string& dataset,
                                                const std::string& project) {
  if (up.language != project::BlockLanguage::kSql ||
      up.ConfigString("data_provider").value_or("") != "bigquery" ||
      ConfigBool(up, "use_raw_sql") || ConfigBool(up, "disable_query_preprocessing") ||
      up.ConfigString("data_provider_profile").value_or("default") !=
          inv.block.ConfigString("data_provider_profile").value_or("default")) {
    return std::nullopt;
  }
  TableRef ref{up.ConfigString("data_provider_database").value_or(project),
               up.ConfigString("data_provider_schema").value_or(dataset),
               up.ConfigString("data_provider_table").value_or(UpstreamTableName(inv, up.uuid))};
  if (size_t dot = ref.table.find('.'); dot != std::string::npos) {
    ref.dataset = ref.table.substr(0, dot);
    ref.table = ref.table.substr(dot + 1);
  }
  if (ref.dataset.empty()) return std::nullopt;
  return ref;
}

// Loads one upstream output into `table` (replace), through a temporary Parquet file when its
// stored file holds index columns, names BigQuery would refuse or nanosecond timestamps. Returns
// the rows loaded.
uint64_t UploadUpstream(BlockInvocation& inv, Warehouse& wh, data::Connection& duck,
                        const data::StoredOutput& output, const TableRef& table) {
  bool renamed = false;
  const std::string select =
      connectors::bigquery::LoadableSelect(duck, output.RelationSql(), &renamed);
  const connectors::CancelFn cancelled = [&] { return inv.cancel.cancelled(); };
  if (!renamed && output.is_table() && output.Index().is_null()) {
    return wh.LoadParquet(table, output.dir / "data.parquet", ExportWritePolicy::kReplace,
                          cancelled);
  }
  const fs::path tmp = TempSibling(inv.outputs.BlockDir(inv.block.uuid) / "upload.parquet");
  std::error_code ec;
  fs::create_directories(tmp.parent_path(), ec);
  RemoveOnExit remove(tmp);
  duck.Execute("COPY (SELECT * FROM " + select + ") TO " + QuoteLiteral(tmp.string()) +
               " (FORMAT parquet)");
  return wh.LoadParquet(table, tmp, ExportWritePolicy::kReplace, cancelled);
}

// One upstream output to load into the warehouse before the block's SQL runs.
struct Upload {
  const UpstreamData* upstream;
  TableRef table;
  uint64_t rows = 0;
  std::exception_ptr error;
};

// Loads every upload (replace), up to CloudServices::upload_parallelism at once: each is its own
// load job (a network round trip with BigQuery), on its own DuckDB connection.
void UploadAll(BlockInvocation& inv, Warehouse& wh, std::vector<Upload>& uploads) {
  std::set<std::string> datasets;
  for (const auto& u : uploads)
    if (datasets.insert(u.table.dataset).second) wh.EnsureDataset(u.table.dataset);
  std::atomic<size_t> next{0};
  auto work = [&] {
    std::unique_ptr<data::Connection> duck;
    std::optional<CancelToken::Registration> interrupt;
    for (size_t i = next++; i < uploads.size(); i = next++) {
      try {
        if (!duck) {
          duck = inv.services.engine.Connect();
          interrupt.emplace(inv.cancel, [c = duck.get()] { c->Interrupt(); });
        }
        uploads[i].rows =
            UploadUpstream(inv, wh, *duck, uploads[i].upstream->outputs[0], uploads[i].table);
      } catch (...) {
        uploads[i].error = std::current_exception();
      }
    }
  };
  const size_t threads = std::min<size_t>(
      uploads.size(), static_cast<size_t>(std::max(1, inv.services.cloud->upload_parallelism)));
  {
    std::vector<std::jthread> pool;  // joined before the errors are looked at
    for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
    if (threads > 0) work();
  }
  for (const auto& u : uploads) {
    if (u.error) std::rethrow_exception(u.error);
    inv.log.Info("uploaded the output of '" + u.upstream->block_uuid + "' to " + u.table.dataset +
                 "." + u.table.table + " (" + CountOf(u.rows, "row") + ")");
  }
}

std::string Scratch(const BlockInvocation& inv) {
  static std::atomic<unsigned> counter{0};  // unique scratch names only
  return std::string(data::Engine::kOutputCatalog) + ".main." +
         QuoteIdentifier("kiln_bq_" + CleanName(inv.block.uuid) + "_" +
                         std::to_string(counter.fetch_add(1)));
}

// Reads at most `limit` rows of `query` from the warehouse into the block's output_<index>.
data::StoredOutput ReadOutput(BlockInvocation& inv, Warehouse& wh, data::Connection& duck,
                              const std::string& query, uint64_t limit) {
  const std::string scratch = Scratch(inv);
  data::DropTableOnExit drop(duck, scratch);
  wh.Read(query, limit, duck, scratch, [&] { return inv.cancel.cancelled(); });
  return inv.outputs.WriteTable(duck, inv.block.uuid, 0, scratch, /*check_types=*/true);
}

std::string Destination(const Warehouse& wh, const TableRef& t, ExportWritePolicy policy,
                        uint64_t rows, const char* how) {
  return "BigQuery table " + t.dataset + "." + t.table + " in " + wh.Describe() + " (" +
         std::string(connectors::ExportWritePolicyName(policy)) + ", " + CountOf(rows, "row") +
         how + ")";
}

}  // namespace

BlockResult RunOnBigQuery(BlockInvocation& inv) {
  const project::BlockSpec& block = inv.block;
  auto fail = [&](const std::string& message) -> BlockError {
    return BlockError("block '" + block.uuid + "': " + message);
  };
  if (inv.services.cloud == nullptr)
    throw fail("this process has no cloud services (BigQuery blocks run under kiln run/start)");
  connectors::GoogleAuth auth;
  try {
    std::string warning;
    auth = connectors::GoogleAuthForProfile(ProviderProfile(inv, /*default_may_be_missing=*/false),
                                            *inv.services.cloud, &warning);
    if (!warning.empty()) inv.log.Warning(warning);
  } catch (const config::ConfigError& e) {
    throw fail(e.what());
  }
  const std::string dataset = block.ConfigString("data_provider_schema").value_or("");
  const bool raw = ConfigBool(block, "use_raw_sql");
  const bool as_is = ConfigBool(block, "disable_query_preprocessing");
  std::optional<ExportTarget> target = ResolveExport(inv, dataset);
  if (!target && !raw && !as_is) {  // Mage writes every default-mode result to a table
    ExportTarget derived{dataset, UpstreamTableName(inv, block.uuid)};
    std::string policy = block.ConfigString("export_write_policy").value_or("append");
    auto parsed = connectors::ParseExportWritePolicy(policy);
    if (!parsed) {
      throw fail("export_write_policy '" + policy + "' is not one of append, replace, fail");
    }
    derived.policy = *parsed;
    target = derived;
  }
  if (target && target->schema.empty()) {
    throw fail("data_provider_schema (the BigQuery dataset) is required for table '" +
               target->table + "'");
  }
  const std::string code = ReadBlockCode(block);

  std::unique_ptr<Warehouse> wh;
  try {
    wh = connectors::OpenWarehouse(
        auth, block.ConfigString("data_provider_database").value_or(""), auth.location,
        inv.services.engine, *inv.services.cloud,
        "kiln_" + CleanName(inv.pipeline.uuid()) + "_" + CleanName(block.uuid));
  } catch (const Error& e) {
    throw fail(e.what());
  }
  const std::string& project = wh->project();
  const connectors::CancelFn cancelled = [&] { return inv.cancel.cancelled(); };
  std::unique_ptr<data::Connection> duck = inv.services.engine.Connect();
  CancelToken::Registration interrupt(inv.cancel, [c = duck.get()] { c->Interrupt(); });
  const uint64_t limit = RowLimit(block);
  std::optional<TableRef> dest;
  if (target) dest = TableRef{project, target->schema, target->table};

  BlockResult result;
  try {
    // The course's exporter: one load job of the upstream output, no staging table.
    std::optional<size_t> passthrough;
    if (dest && !raw && !as_is) {
      passthrough = PassThroughUpstream(inv, code, *duck);
      if (passthrough) {
        const project::BlockSpec* up =
            inv.pipeline.FindBlock(inv.upstream[*passthrough].block_uuid);
        if (up != nullptr && UpstreamTableInBigQuery(inv, *up, dataset, project))
          passthrough.reset();  // read where it is, all its rows, as Mage does
      }
    }
    if (passthrough) {
      const data::StoredOutput& source = inv.upstream[*passthrough].outputs[0];
      bool renamed = false;
      const std::string select =
          connectors::bigquery::LoadableSelect(*duck, source.RelationSql(), &renamed);
      data::PendingOutput staged =
          inv.outputs.StageTable(*duck, block.uuid, 0, select, /*check_types=*/false);
      if (target->policy == ExportWritePolicy::kFail && wh->TableExists(*dest)) {
        throw fail("table " + dest->Display() +
                   " already exists and export_write_policy is 'fail'");
      }
      wh->EnsureDataset(dest->dataset);
      uint64_t rows =
          wh->LoadParquet(*dest, staged.staging_dir() / "data.parquet", target->policy, cancelled);
      result.outputs.push_back(staged.Publish());
      result.rows = rows;
      result.destinations.push_back(Destination(*wh, *dest, target->policy, rows, ", load job"));
    } else {
      std::vector<std::string> relations(inv.upstream.size());
      std::vector<Upload> uploads;
      for (size_t k : ReferencedUpstreams(code, inv.upstream.size())) {
        const UpstreamData& up = inv.upstream[k];
        const project::BlockSpec* spec = inv.pipeline.FindBlock(up.block_uuid);
        if (spec != nullptr) {
          if (auto in_bq = UpstreamTableInBigQuery(inv, *spec, dataset, project)) {
            relations[k] = wh->SqlName(*in_bq);
            continue;
          }
        }
        if (up.outputs.empty()) continue;  // df_N stays undefined, with its reason
        if (dataset.empty() && !target) {
          throw fail("data_provider_schema (the BigQuery dataset) is required to upload the " +
                     std::string("output of '") + up.block_uuid + "'");
        }
        TableRef table{project, target ? target->schema : dataset,
                       UpstreamTableName(inv, up.block_uuid)};
        relations[k] = wh->SqlName(table);
        uploads.push_back(Upload{.upstream = &up, .table = table, .rows = 0, .error = nullptr});
      }
      UploadAll(inv, *wh, uploads);
      const std::string rendered = RenderBlockSql(inv, code, relations);
      inv.log.Debug("rendered SQL:\n" + rendered);
      if (as_is) {  // disable_query_preprocessing: one job, no output (Mage)
        wh->Run(rendered, std::nullopt, ExportWritePolicy::kAppend, cancelled);
      } else if (raw) {  // each statement one job; the last SELECT is the output
        std::vector<data::SqlStatement> statements = data::SplitSqlScript(rendered);
        if (statements.empty()) throw fail("has no SQL statements");
        int output_index = -1;
        for (size_t i = 0; i < statements.size(); ++i) {
          if (ProducesTable(InspectStatement(*duck, statements[i].text), statements[i].text))
            output_index = static_cast<int>(i);
        }
        for (size_t i = 0; i < statements.size(); ++i) {
          if (inv.cancel.cancelled()) ThrowStopped(inv);
          try {
            if (static_cast<int>(i) == output_index) {
              result.outputs.push_back(ReadOutput(inv, *wh, *duck, statements[i].text, limit));
            } else {
              wh->Run(statements[i].text, std::nullopt, ExportWritePolicy::kAppend, cancelled);
            }
          } catch (const connectors::WarehouseError& e) {
            if (inv.cancel.cancelled()) ThrowStopped(inv);
            throw BlockError(DescribeStatementError(inv, statements[i], 0, e.what()));
          }
        }
      } else {
        if (data::SplitSqlScript(rendered).empty()) throw fail("has no SQL statements");
        wh->EnsureDataset(dest->dataset);
        if (target->policy == ExportWritePolicy::kFail && wh->TableExists(*dest)) {
          throw fail("table " + dest->Display() +
                     " already exists and export_write_policy is 'fail'");
        }
        // One query job with the target as its destination.
        uint64_t rows = wh->Run(rendered, dest, target->policy, cancelled);
        result.outputs.push_back(
            ReadOutput(inv, *wh, *duck, "SELECT * FROM " + wh->SqlName(*dest), limit));
        result.destinations.push_back(Destination(*wh, *dest, target->policy, rows, ""));
      }
    }
  } catch (const BlockError&) {
    throw;
  } catch (const data::InterruptedError&) {
    ThrowStopped(inv);
  } catch (const Error& e) {
    if (inv.cancel.cancelled()) ThrowStopped(inv);
    throw fail(e.what());
  }
  if (!result.outputs.empty() && !result.rows) result.rows = result.outputs.front().rows;
  inv.outputs.RemoveOutputsFrom(block.uuid, static_cast<int>(result.outputs.size()));
  return result;
}

}  // namespace kiln::blocks::sql
