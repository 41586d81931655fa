#include "kiln/connectors/bigquery/result_rows.h"

#include <atomic>

#include "kiln/common/names.h"
#include "kiln/connectors/bigquery/warehouse.h"
#include "kiln/data/engine.h"

namespace kiln::connectors::bigquery {
namespace {

using nlohmann::json;

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string TypeName(const json& field) {
  return Upper(field.value("type", std::string("STRING")));
}

bool IsRepeated(const json& field) {
  return Upper(field.value("mode", std::string())) == "REPEATED";
}

bool IsRecord(const json& field) {
  std::string t = TypeName(field);
  return t == "RECORD" || t == "STRUCT";
}

// A scalar cell as JSON: numbers and booleans typed, everything else a string.
json ScalarJson(const json& field, const json& v) {
  if (!v.is_string()) return v;
  const std::string& s = v.get_ref<const std::string&>();
  std::string t = TypeName(field);
  try {
    if (t == "INTEGER" || t == "INT64") return json(std::stoll(s));
    if (t == "FLOAT" || t == "FLOAT64") return json(std::stod(s));
  } catch (...) {
    return v;  // "NaN", "Infinity": kept as text
  }
  if (t == "BOOLEAN" || t == "BOOL") return json(s == "true");
  return v;
}

json CellJson(const json& field, const json& v, bool element = false);

json RecordJson(const json& field, const json& v) {
  if (!v.is_object() || !v.contains("f")) return v;
  json out = json::object();
  const json& subfields = field.value("fields", json::array());
  const json& cells = v["f"];
  for (size_t i = 0; i < subfields.size() && i < cells.size(); ++i) {
    out[subfields[i].value("name", "f" + std::to_string(i))] =
        CellJson(subfields[i], cells[i].value("v", json()));
  }
  return out;
}

// The value of one cell: for a REPEATED field an array of its elements' {"v"}.
json CellJson(const json& field, const json& v, bool element) {
  if (v.is_null()) return v;
  if (IsRepeated(field) && !element) {
    json out = json::array();
    if (v.is_array())
      for (const auto& e : v) out.push_back(CellJson(field, e.value("v", json()), true));
    return out;
  }
  return IsRecord(field) ? RecordJson(field, v) : ScalarJson(field, v);
}

// The SQL converting scratch column `c` (VARCHAR) to the field's DuckDB type.
std::string Convert(const json& field, const std::string& c) {
  if (IsRepeated(field) || IsRecord(field)) return c;
  std::string t = TypeName(field);
  if (t == "INTEGER" || t == "INT64") return "CAST(" + c + " AS BIGINT)";
  if (t == "FLOAT" || t == "FLOAT64") return "CAST(" + c + " AS DOUBLE)";
  if (t == "NUMERIC" || t == "DECIMAL") return "CAST(" + c + " AS DECIMAL(38,9))";
  if (t == "BOOLEAN" || t == "BOOL") return "CAST(" + c + " AS BOOLEAN)";
  if (t == "BYTES") return "from_base64(" + c + ")";
  if (t == "DATE") return "CAST(" + c + " AS DATE)";
  if (t == "TIME") return "CAST(" + c + " AS TIME)";
  if (t == "DATETIME") return "CAST(" + c + " AS TIMESTAMP)";
  if (t == "TIMESTAMP") {
    // int64 microseconds (useInt64Timestamp); an emulator may still send float seconds.
    return "CASE WHEN " + c + " SIMILAR TO '-?[0-9]+' THEN timezone('UTC', make_timestamp(CAST(" +
           c + " AS BIGINT))) ELSE timezone('UTC', make_timestamp(CAST(round(CAST(" + c +
           " AS DOUBLE) * 1e6) AS BIGINT))) END";
  }
  return c;  // STRING, BIGNUMERIC, JSON, GEOGRAPHY, INTERVAL, RANGE: text
}

}  // namespace

ResultRows::ResultRows(data::Connection& duck, const json& schema, std::string target)
    : duck_(duck), fields_(schema.value("fields", json::array())), target_(std::move(target)) {
  if (!fields_.is_array() || fields_.empty())
    throw WarehouseError("BigQuery returned a result without schema fields");
  static std::atomic<unsigned> counter{0};  // unique scratch names only
  const std::string name = "kiln_bq_rows_" + std::to_string(counter.fetch_add(1));
  scratch_ = std::string(data::Engine::kOutputCatalog) + ".main." + QuoteIdentifier(name);
  std::string columns;
  for (size_t i = 0; i < fields_.size(); ++i)
    columns += (i ? ", " : "") + QuoteIdentifier("c" + std::to_string(i)) + " VARCHAR";
  duck_.Execute("CREATE TABLE " + scratch_ + " (" + columns + ")");
  duckdb_appender appender = nullptr;
  if (duckdb_appender_create_ext(duck_.handle(), data::Engine::kOutputCatalog, "main", name.c_str(),
                                 &appender) != DuckDBSuccess) {
    std::string why = appender ? duckdb_appender_error(appender) : "unknown error";
    duckdb_appender_destroy(&appender);
    duck_.Execute("DROP TABLE IF EXISTS " + scratch_);
    throw WarehouseError("cannot append query results: " + why);
  }
  appender_ = appender;
}

ResultRows::~ResultRows() {
  if (appender_ != nullptr) {
    auto appender = static_cast<duckdb_appender>(appender_);
    duckdb_appender_destroy(&appender);
  }
  try {
    duck_.Execute("DROP TABLE IF EXISTS " + scratch_);
  } catch (...) {
  }
}

void ResultRows::Append(const json& rows) {
  if (rows.is_null()) return;
  auto appender = static_cast<duckdb_appender>(appender_);
  if (appender == nullptr) throw WarehouseError("query results appended after Finish()");
  for (const auto& row : rows) {
    const json& cells = row.value("f", json::array());
    if (!cells.is_array() || cells.size() != fields_.size()) {
      throw WarehouseError("BigQuery result row " + std::to_string(rows_ + 1) + " has " +
                           std::to_string(cells.is_array() ? cells.size() : 0) + " values for " +
                           std::to_string(fields_.size()) + " columns");
    }
    for (size_t i = 0; i < fields_.size(); ++i) {
      json v = cells[i].value("v", json());
      duckdb_state state;
      if (v.is_null()) {
        state = duckdb_append_null(appender);
      } else if (v.is_string() && !IsRepeated(fields_[i]) && !IsRecord(fields_[i])) {
        const std::string& s = v.get_ref<const std::string&>();
        state = duckdb_append_varchar_length(appender, s.data(), s.size());
      } else {
        std::string text = CellJson(fields_[i], v).dump();
        state = duckdb_append_varchar_length(appender, text.data(), text.size());
      }
      if (state != DuckDBSuccess)
        throw WarehouseError(std::string("cannot append query results: ") +
                             duckdb_appender_error(appender));
    }
    if (duckdb_appender_end_row(appender) != DuckDBSuccess)
      throw WarehouseError(std::string("cannot append query results: ") +
                           duckdb_appender_error(appender));
    ++rows_;
  }
}

uint64_t ResultRows::Finish() {
  auto appender = static_cast<duckdb_appender>(appender_);
  if (appender != nullptr) {
    bool flushed = duckdb_appender_flush(appender) == DuckDBSuccess;
    std::string why = flushed ? "" : duckdb_appender_error(appender);
    duckdb_appender_destroy(&appender);
    appender_ = nullptr;
    if (!flushed) throw WarehouseError("cannot append query results: " + why);
  }
  std::string select;
  for (size_t i = 0; i < fields_.size(); ++i) {
    std::string name = fields_[i].value("name", "f" + std::to_string(i));
    select += (i ? ", " : "") + Convert(fields_[i], QuoteIdentifier("c" + std::to_string(i))) +
              " AS " + QuoteIdentifier(name);
  }
  try {
    duck_.Execute("CREATE TABLE " + target_ + " AS SELECT " + select + " FROM " + scratch_);
  } catch (const data::DataError& e) {
    throw WarehouseError(std::string("BigQuery query results do not convert to DuckDB types: ") +
                         e.what());
  }
  return rows_;
}

}  // namespace kiln::connectors::bigquery
