#include "kiln/data/output_store.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "kiln/common/files.h"
#include "kiln/common/names.h"

namespace kiln::data {
namespace fs = std::filesystem;

namespace {

nlohmann::json ReadJsonFile(const fs::path& path, nlohmann::json fallback) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return fallback;
  try {
    return nlohmann::json::parse(ReadFile(path));
  } catch (const std::exception&) {
    return fallback;
  }
}

}  // namespace

void StoredOutput::AwaitWritten() const {
  if (!written.valid()) return;
  try {
    written.get();
  } catch (const DataError&) {
    throw;
  } catch (const std::exception& e) {
    throw DataError((dir / "data.parquet").string() +
                    ": the output could not be stored: " + e.what());
  }
}

std::string StoredOutput::ParquetRelationSql() const {
  AwaitWritten();
  return "read_parquet(" + QuoteLiteral((dir / "data.parquet").string()) + ")";
}

std::string StoredOutput::RelationSql() const {
  AwaitWritten();
  if (!is_table()) return "read_json_auto(" + QuoteLiteral((dir / "data.json").string()) + ")";
  if (index_columns.empty()) return ParquetRelationSql();
  std::string excluded;
  for (const auto& c : index_columns)
    excluded += (excluded.empty() ? "" : ", ") + QuoteIdentifier(c);
  return "(SELECT * EXCLUDE (" + excluded + ") FROM " + ParquetRelationSql() + ")";
}

nlohmann::json StoredOutput::PandasDtypes() const {
  AwaitWritten();
  return ReadJsonFile(dir / "data_column_types.json", nlohmann::json::object());
}

nlohmann::json StoredOutput::Index() const {
  AwaitWritten();
  return ReadJsonFile(dir / "index.json", nullptr);
}

nlohmann::json StoredOutput::JsonValue() const {
  AwaitWritten();
  try {
    return nlohmann::json::parse(ReadFile(dir / "data.json"));
  } catch (const std::exception& e) {
    throw DataError((dir / "data.json").string() + ": cannot read the output: " + e.what());
  }
}

OutputStore::OutputStore(fs::path variables_dir, std::string pipeline_uuid, std::string partition)
    : pipeline_dir_(std::move(variables_dir) / "pipelines" / pipeline_uuid),
      partition_(std::move(partition)) {}

OutputStore OutputStore::ForPipeline(const std::string& pipeline_uuid) const {
  return OutputStore(pipeline_dir_.parent_path().parent_path(), pipeline_uuid);
}

fs::path OutputStore::VariablesRoot() const {
  fs::path root = pipeline_dir_ / ".variables";
  return partition_.empty() ? root : root / partition_;
}

fs::path OutputStore::LogsDir() const {
  fs::path root = pipeline_dir_ / ".logs";
  return partition_.empty() ? root : root / partition_;
}

fs::path OutputStore::BlockDir(std::string_view block_uuid) const {
  return VariablesRoot() / CleanName(block_uuid);
}

fs::path OutputStore::OutputDir(std::string_view block_uuid, int index) const {
  return BlockDir(block_uuid) / ("output_" + std::to_string(index));
}

void OutputStore::RemoveOutputsFrom(std::string_view block_uuid, int first_index) const {
  std::error_code ec;
  for (const auto& out : ListOutputs(block_uuid))
    if (out.index >= first_index) fs::remove_all(out.dir, ec);
}

void OutputStore::EnsureWritable() const {
  for (const fs::path& dir : {VariablesRoot(), LogsDir()}) {
    if (!IsWritableDir(dir)) {
      throw DataError(dir.string() +
                      ": cannot create or write this folder (block outputs and logs "
                      "go here; choose another with --data-dir or variables_dir)");
    }
  }
}

std::string ParquetSafeSelect(Connection& conn, const std::string& relation_sql) {
  // DESCRIBE binds the query without running it.
  Result schema = conn.Query("DESCRIBE SELECT * FROM " + relation_sql);
  std::string list;
  bool changed = false;
  for (uint64_t r = 0; r < schema.row_count(); ++r) {
    std::string name = QuoteIdentifier(schema.GetString(0, r).value_or(""));
    std::string type = schema.GetString(1, r).value_or("");
    if (!list.empty()) list += ", ";
    if (type == "HUGEINT" || type == "UHUGEINT") {
      list += "CAST(" + name + " AS DECIMAL(38,0)) AS " + name;
      changed = true;
    } else {
      list += name;
    }
  }
  return "SELECT " + (changed ? list : std::string("*")) + " FROM " + relation_sql;
}

std::string PandasDtypeFor(std::string_view t) {
  auto starts = [&](std::string_view p) { return t.substr(0, p.size()) == p; };
  if (t == "BOOLEAN") return "boolean";
  if (t == "TINYINT" || t == "SMALLINT" || t == "INTEGER" || t == "BIGINT" || t == "UTINYINT" ||
      t == "USMALLINT" || t == "UINTEGER" || t == "UBIGINT")
    return "Int64";
  if (t == "FLOAT") return "float32";
  if (t == "DOUBLE" || starts("DECIMAL")) return "float64";
  if (t == "VARCHAR") return "str";
  if (t == "TIMESTAMP WITH TIME ZONE") return "datetime64[ns, UTC]";
  if (starts("TIMESTAMP")) return "datetime64[ns]";
  if (t == "DATE") return "date";
  if (starts("STRUCT") || starts("MAP")) return "dict";
  if (t.ends_with("[]")) return "list";
  return "object";
}

PendingOutput::~PendingOutput() {
  if (staging_.empty()) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);
}

PendingOutput::PendingOutput(PendingOutput&& other) noexcept
    : staging_(std::exchange(other.staging_, {})), output_(std::move(other.output_)) {}

StoredOutput PendingOutput::Publish() {
  std::error_code ec;
  fs::remove_all(output_.dir, ec);
  fs::rename(staging_, output_.dir, ec);
  if (ec) {
    throw DataError(output_.dir.string() + ": cannot move output into place: " + ec.message());
  }
  staging_.clear();
  return output_;
}

StoredOutput OutputStore::WriteTable(Connection& conn, std::string_view block_uuid, int index,
                                     const std::string& relation_sql, bool check_types) const {
  return StageTable(conn, block_uuid, index, relation_sql, check_types).Publish();
}

StoredOutput OutputStore::WriteDataFrame(Connection& conn, std::string_view block_uuid, int index,
                                         const std::string& relation_sql,
                                         const PandasInfo& pandas) const {
  return StageTable(conn, block_uuid, index, relation_sql, /*check_types=*/false, &pandas)
      .Publish();
}

PendingOutput OutputStore::StageTable(Connection& conn, std::string_view block_uuid, int index,
                                      const std::string& relation_sql, bool check_types,
                                      const PandasInfo* pandas) const {
  StoredOutput out;
  out.index = index;
  out.dir = OutputDir(block_uuid, index);
  out.type = "dataframe";
  std::error_code ec;
  fs::create_directories(out.dir.parent_path(), ec);
  fs::path staging = TempSibling(out.dir);
  fs::create_directories(staging, ec);
  if (ec) throw DataError(staging.string() + ": cannot create output folder: " + ec.message());
  PendingOutput pending(staging, out);  // removes the staging folder unless published
  // The relation is computed once, straight into Parquet; everything else reads that file.
  const std::string data = QuoteLiteral((staging / "data.parquet").string());
  std::string select =
      check_types ? ParquetSafeSelect(conn, relation_sql) : "SELECT * FROM " + relation_sql;
  Result copied =
      conn.Query("COPY (" + select + ") TO " + data + " (FORMAT parquet, COMPRESSION snappy)");
  out.rows = copied.row_count() > 0 ? static_cast<uint64_t>(copied.GetInt64(0, 0)) : 0;
  conn.Execute("COPY (SELECT * FROM read_parquet(" + data + ") LIMIT 1000) TO " +
               QuoteLiteral((staging / "sample_data.parquet").string()) + " (FORMAT parquet)");
  Result schema = conn.Query("DESCRIBE SELECT * FROM read_parquet(" + data + ")");
  nlohmann::ordered_json column_types = nlohmann::ordered_json::object();
  for (uint64_t r = 0; r < schema.row_count(); ++r) {
    std::string column = schema.GetString(0, r).value_or("");
    std::string dtype = PandasDtypeFor(schema.GetString(1, r).value_or(""));
    if (pandas != nullptr) {
      auto given = pandas->dtypes.find(column);
      if (given != pandas->dtypes.end() && given->is_string()) dtype = given->get<std::string>();
    }
    column_types[column] = dtype;
  }
  if (pandas != nullptr && pandas->index.is_object()) {
    WriteFileAtomic(staging / "index.json", pandas->index.dump());
    for (const auto& c : pandas->index.value("columns", nlohmann::json::array()))
      if (c.is_string()) out.index_columns.push_back(c.get<std::string>());
  }
  WriteFileAtomic(staging / "type.json", nlohmann::json{{"type", "dataframe"}}.dump());
  WriteFileAtomic(staging / "data_column_types.json", column_types.dump());
  nlohmann::ordered_json stats = {{"original_row_count", out.rows},
                                  {"original_column_count", schema.row_count()}};
  WriteFileAtomic(staging / "statistics.json", stats.dump());
  // The shape-only analysis Mage writes after a block run (§7.3): the rest is null.
  for (const char* name : {"insights.json", "metadata.json", "suggestions.json"})
    WriteFileAtomic(staging / name, "null");
  WriteFileAtomic(staging / "resource_usage.json",
                  R"({"directory": null, "memory": null, "path": null, "size": null})");
  pending.set_output(out);
  return pending;
}

StoredOutput OutputStore::WriteJson(std::string_view block_uuid, int index,
                                    const nlohmann::json& value,
                                    const std::string& variable_type) const {
  StoredOutput out;
  out.index = index;
  out.dir = OutputDir(block_uuid, index);
  out.type = variable_type;
  std::error_code ec;
  fs::create_directories(out.dir.parent_path(), ec);
  fs::path staging = TempSibling(out.dir);
  fs::create_directories(staging, ec);
  if (ec) throw DataError(staging.string() + ": cannot create output folder: " + ec.message());
  PendingOutput pending(staging, out);
  // Mage: simplejson with ", " and ": " separators; nlohmann's compact form reads the same.
  WriteFileAtomic(staging / "data.json",
                  value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  nlohmann::json sample = value;
  if (sample.is_array() && sample.size() > 20) sample.erase(sample.begin() + 20, sample.end());
  WriteFileAtomic(staging / "sample_data.json",
                  sample.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  WriteFileAtomic(staging / "type.json",
                  nlohmann::json{{"type", variable_type.empty() ? nlohmann::json(nullptr)
                                                                : nlohmann::json(variable_type)}}
                      .dump());
  if (value.is_array()) {
    out.rows = value.size();
    WriteFileAtomic(staging / "statistics.json",
                    nlohmann::json{{"original_row_count", value.size()}}.dump());
  }
  WriteFileAtomic(staging / "resource_usage.json",
                  R"({"directory": null, "memory": null, "path": null, "size": null})");
  pending.set_output(out);
  return pending.Publish();
}

std::vector<StoredOutput> OutputStore::ListOutputs(std::string_view block_uuid) const {
  std::vector<StoredOutput> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(BlockDir(block_uuid), ec)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_directory() || !name.starts_with("output_")) continue;
    std::string digits = name.substr(7);
    if (digits.empty() || digits.size() > 9 ||
        !std::all_of(digits.begin(), digits.end(), ::isdigit))
      continue;
    StoredOutput o;
    o.index = std::stoi(digits);
    o.dir = entry.path();
    nlohmann::json type = ReadJsonFile(o.dir / "type.json", nlohmann::json::object());
    if (type.is_object() && type.contains("type") && type["type"].is_string())
      o.type = type["type"];
    // Readers fall back to "a data.parquet exists, so it is a data frame", as Mage's do.
    if (o.type.empty() && fs::exists(o.dir / "data.parquet")) o.type = "dataframe";
    nlohmann::json stats = ReadJsonFile(o.dir / "statistics.json", nlohmann::json::object());
    if (stats.is_object() && stats.contains("original_row_count") &&
        stats["original_row_count"].is_number_unsigned()) {
      o.rows = stats["original_row_count"].get<uint64_t>();
    }
    for (const auto& c : o.Index().is_object() ? o.Index().value("columns", nlohmann::json::array())
                                               : nlohmann::json::array()) {
      if (c.is_string()) o.index_columns.push_back(c.get<std::string>());
    }
    out.push_back(std::move(o));
  }
  std::sort(out.begin(), out.end(),
            [](const StoredOutput& a, const StoredOutput& b) { return a.index < b.index; });
  return out;
}

}  // namespace kiln::data
