// The type maps between DuckDB and PostgreSQL, both ways.
#include "kiln/connectors/postgres/types.h"

#include <cctype>
#include <charconv>
#include <string>

#include "kiln/connectors/postgres/binary.h"
#include "kiln/connectors/postgres/postgres.h"

namespace kiln::connectors::postgres {
namespace {

using E = FieldEncoding;

//! What a DuckDB column holds, as far as the export cares.
enum class SourceKind {
  kBool,
  kSmallInteger,  // TINYINT, SMALLINT
  kInteger,
  kBigInteger,  // BIGINT and the unsigned types
  kHugeint,     // HUGEINT, UHUGEINT
  kFloat,
  kDouble,
  kDecimal,
  kVarchar,
  kJson,
  kBlob,
  kDate,
  kTime,
  kTimeNs,
  kTimetz,
  kTimestamp,  // every precision
  kTimestamptz,
  kInterval,
  kUuid,
  kNested,  // STRUCT, MAP, LIST, ARRAY, UNION
  kOther,   // ENUM, BIT, BIGNUM, ...: exported as their text
};

struct SourceType {
  SourceKind kind = SourceKind::kOther;
  int width = 18;
  int scale = 3;
};

std::string Upper(std::string_view text) {
  std::string out;
  for (char c : text) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  while (!out.empty() && out.back() == ' ') out.pop_back();
  size_t start = out.find_first_not_of(' ');
  return start == std::string::npos ? "" : out.substr(start);
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// "DECIMAL(18,3)" -> 18, 3; "DECIMAL" keeps DuckDB's default (18,3).
void ParseDecimalArguments(std::string_view text, SourceType* type) {
  size_t open = text.find('(');
  if (open == std::string_view::npos) return;
  const char* p = text.data() + open + 1;
  const char* end = text.data() + text.size();
  p = std::from_chars(p, end, type->width).ptr;
  type->scale = 0;
  while (p < end && (*p == ',' || *p == ' ')) ++p;
  std::from_chars(p, end, type->scale);
}

SourceType ParseSourceType(std::string_view duckdb_type) {
  const std::string t = Upper(duckdb_type);
  SourceType type;
  if (!t.empty() && t.back() == ']') return {SourceKind::kNested};
  for (std::string_view nested : {"STRUCT", "MAP", "UNION", "LIST"}) {
    if (StartsWith(t, nested) && t.size() > nested.size() && t[nested.size()] == '(') {
      return {SourceKind::kNested};
    }
  }
  if (StartsWith(t, "DECIMAL") || StartsWith(t, "NUMERIC")) {
    type.kind = SourceKind::kDecimal;
    ParseDecimalArguments(t, &type);
    return type;
  }
  if (StartsWith(t, "VARCHAR(") || StartsWith(t, "CHAR(") || StartsWith(t, "BPCHAR(")) {
    return {SourceKind::kVarchar};
  }
  struct Alias {
    std::string_view name;
    SourceKind kind;
  };
  static constexpr Alias kNames[] = {
      {"BOOLEAN", SourceKind::kBool},
      {"BOOL", SourceKind::kBool},
      {"LOGICAL", SourceKind::kBool},
      {"TINYINT", SourceKind::kSmallInteger},
      {"INT1", SourceKind::kSmallInteger},
      {"SMALLINT", SourceKind::kSmallInteger},
      {"INT2", SourceKind::kSmallInteger},
      {"SHORT", SourceKind::kSmallInteger},
      {"INTEGER", SourceKind::kInteger},
      {"INT", SourceKind::kInteger},
      {"INT4", SourceKind::kInteger},
      {"SIGNED", SourceKind::kInteger},
      {"BIGINT", SourceKind::kBigInteger},
      {"INT8", SourceKind::kBigInteger},
      {"LONG", SourceKind::kBigInteger},
      {"UTINYINT", SourceKind::kBigInteger},
      {"USMALLINT", SourceKind::kBigInteger},
      {"UINTEGER", SourceKind::kBigInteger},
      {"UBIGINT", SourceKind::kHugeint},  // beyond bigint: numeric
      {"HUGEINT", SourceKind::kHugeint},
      {"INT128", SourceKind::kHugeint},
      {"UHUGEINT", SourceKind::kHugeint},
      {"FLOAT", SourceKind::kFloat},
      {"FLOAT4", SourceKind::kFloat},
      {"REAL", SourceKind::kFloat},
      {"DOUBLE", SourceKind::kDouble},
      {"FLOAT8", SourceKind::kDouble},
      {"DOUBLE PRECISION", SourceKind::kDouble},
      {"VARCHAR", SourceKind::kVarchar},
      {"TEXT", SourceKind::kVarchar},
      {"STRING", SourceKind::kVarchar},
      {"CHAR", SourceKind::kVarchar},
      {"BPCHAR", SourceKind::kVarchar},
      {"JSON", SourceKind::kJson},
      {"BLOB", SourceKind::kBlob},
      {"BYTEA", SourceKind::kBlob},
      {"BINARY", SourceKind::kBlob},
      {"VARBINARY", SourceKind::kBlob},
      {"DATE", SourceKind::kDate},
      {"TIME", SourceKind::kTime},
      {"TIME_NS", SourceKind::kTimeNs},
      {"TIME WITH TIME ZONE", SourceKind::kTimetz},
      {"TIMETZ", SourceKind::kTimetz},
      {"TIMESTAMP", SourceKind::kTimestamp},
      {"DATETIME", SourceKind::kTimestamp},
      {"TIMESTAMP_US", SourceKind::kTimestamp},
      {"TIMESTAMP_S", SourceKind::kTimestamp},
      {"TIMESTAMP_MS", SourceKind::kTimestamp},
      {"TIMESTAMP_NS", SourceKind::kTimestamp},
      {"TIMESTAMP WITH TIME ZONE", SourceKind::kTimestamptz},
      {"TIMESTAMPTZ", SourceKind::kTimestamptz},
      {"INTERVAL", SourceKind::kInterval},
      {"UUID", SourceKind::kUuid},
  };
  for (const Alias& alias : kNames) {
    if (t == alias.name) return {alias.kind};
  }
  return {SourceKind::kOther};
}

// The encoding and CREATE TABLE type Kiln uses for a DuckDB column of its own making.
ExportColumnPlan NaturalPlan(const SourceType& type) {
  switch (type.kind) {
    case SourceKind::kBool:
      return {"", E::kBool, "BOOLEAN"};
    case SourceKind::kSmallInteger:
      return {"", E::kInt2, "SMALLINT"};
    case SourceKind::kInteger:
      return {"", E::kInt4, "INTEGER"};
    case SourceKind::kBigInteger:
      return {"", E::kInt8, "BIGINT"};
    case SourceKind::kHugeint:
      return {"", E::kNumeric, "NUMERIC(39,0)"};
    case SourceKind::kFloat:
      return {"", E::kFloat4, "REAL"};
    case SourceKind::kDouble:
      return {"", E::kFloat8, "DOUBLE PRECISION"};
    case SourceKind::kDecimal:
      return {"", E::kNumeric,
              "NUMERIC(" + std::to_string(type.width) + "," + std::to_string(type.scale) + ")"};
    case SourceKind::kVarchar:
      return {"", E::kText, "TEXT"};
    case SourceKind::kJson:
      return {"", E::kJsonb, "JSONB"};
    case SourceKind::kBlob:
      return {"", E::kBytea, "BYTEA"};
    case SourceKind::kDate:
      return {"", E::kDate, "DATE"};
    case SourceKind::kTime:
    case SourceKind::kTimeNs:
      return {"", E::kTime, "TIME"};
    case SourceKind::kTimetz:
      return {"", E::kTimetz, "TIMETZ"};
    case SourceKind::kTimestamp:
      return {"", E::kTimestamp, "TIMESTAMP"};
    case SourceKind::kTimestamptz:
      return {"", E::kTimestamptz, "TIMESTAMPTZ"};
    case SourceKind::kInterval:
      return {"", E::kInterval, "INTERVAL"};
    case SourceKind::kUuid:
      return {"", E::kUuid, "UUID"};
    case SourceKind::kNested:
      return {"", E::kJsonb, "JSONB"};
    case SourceKind::kOther:
      return {"", E::kText, "TEXT"};
  }
  return {"", E::kText, "TEXT"};
}

// Whether copy_out.cc encodes a `kind` vector as `encoding` without a DuckDB cast.
bool EncodesNatively(SourceKind kind, FieldEncoding encoding) {
  switch (kind) {
    case SourceKind::kBool:
      return encoding == E::kBool;
    case SourceKind::kSmallInteger:
    case SourceKind::kInteger:
    case SourceKind::kBigInteger:
    case SourceKind::kHugeint:
      return encoding == E::kInt2 || encoding == E::kInt4 || encoding == E::kInt8 ||
             encoding == E::kNumeric;
    case SourceKind::kFloat:
      return encoding == E::kFloat4 || encoding == E::kNumeric;
    case SourceKind::kDouble:
      return encoding == E::kFloat8 || encoding == E::kNumeric;
    case SourceKind::kDecimal:
      return encoding == E::kNumeric;
    case SourceKind::kVarchar:
    case SourceKind::kJson:
      return encoding == E::kText || encoding == E::kJson || encoding == E::kJsonb;
    case SourceKind::kBlob:
      return encoding == E::kBytea;
    case SourceKind::kDate:
      return encoding == E::kDate;
    case SourceKind::kTime:
      return encoding == E::kTime;
    case SourceKind::kTimetz:
      return encoding == E::kTimetz;
    case SourceKind::kTimestamp:
      return encoding == E::kTimestamp;
    case SourceKind::kTimestamptz:
      return encoding == E::kTimestamptz;
    case SourceKind::kInterval:
      return encoding == E::kInterval;
    case SourceKind::kUuid:
      return encoding == E::kUuid;
    default:
      return false;
  }
}

bool IsNumber(SourceKind k) {
  return k == SourceKind::kSmallInteger || k == SourceKind::kInteger ||
         k == SourceKind::kBigInteger || k == SourceKind::kHugeint || k == SourceKind::kFloat ||
         k == SourceKind::kDouble || k == SourceKind::kDecimal;
}

bool IsTimestamp(SourceKind k) {
  return k == SourceKind::kTimestamp || k == SourceKind::kTimestamptz;
}

// The DuckDB cast that turns a `kind` column into something `encoding` encodes natively, or
// "" when PostgreSQL would not convert such values either. `target` refines numeric casts.
std::string CastFor(SourceKind kind, FieldEncoding encoding, const PostgresColumn* target) {
  using K = SourceKind;
  const bool text = kind == K::kVarchar;
  switch (encoding) {
    case E::kBool:
      return text ? "BOOLEAN" : "";
    case E::kInt2:
    case E::kInt4:
    case E::kInt8:
      return text || IsNumber(kind) ? "BIGINT" : "";
    case E::kFloat4:
      return text || IsNumber(kind) ? "FLOAT" : "";
    case E::kFloat8:
      return text || IsNumber(kind) ? "DOUBLE" : "";
    case E::kNumeric: {
      if (!text) return "";
      // Exact when the column is bounded within DuckDB's DECIMAL; else through DOUBLE.
      const int32_t mod = target ? target->typmod - 4 : -1;
      const int precision = mod >= 0 ? (mod >> 16) & 0xffff : 0;
      const int scale = mod >= 0 ? mod & 0x7ff : 0;
      if (mod >= 0 && precision <= 38 && scale <= precision) {
        return "DECIMAL(" + std::to_string(precision) + "," + std::to_string(scale) + ")";
      }
      return "DOUBLE";
    }
    case E::kText:
      if (kind == K::kNested) return "JSON";
      return kind == K::kBlob ? "" : "VARCHAR";
    case E::kJson:
    case E::kJsonb:
      return kind == K::kBool || IsNumber(kind) || kind == K::kNested ? "JSON" : "";
    case E::kBytea:
      return text ? "BLOB" : "";
    case E::kDate:
      return text || IsTimestamp(kind) ? "DATE" : "";
    case E::kTime:
      return text || kind == K::kTimeNs || kind == K::kTimetz || IsTimestamp(kind) ? "TIME" : "";
    case E::kTimetz:
      return text || kind == K::kTime || kind == K::kTimeNs ? "TIMETZ" : "";
    case E::kTimestamp:
      return text || kind == K::kDate || kind == K::kTimestamptz ? "TIMESTAMP" : "";
    case E::kTimestamptz:
      return text || kind == K::kDate || kind == K::kTimestamp ? "TIMESTAMPTZ" : "";
    case E::kInterval:
      return text ? "INTERVAL" : "";
    case E::kUuid:
      return text ? "UUID" : "";
  }
  return "";
}

// The encoding for an existing PostgreSQL column, or nullopt when Kiln has no binary encoder.
std::optional<FieldEncoding> EncodingForColumn(const PostgresColumn& column) {
  if (column.is_enum) return E::kText;  // enum_recv reads the label's text
  switch (column.type_oid) {
    case binary::kBoolOid:
      return E::kBool;
    case binary::kInt2Oid:
      return E::kInt2;
    case binary::kInt4Oid:
      return E::kInt4;
    case binary::kInt8Oid:
      return E::kInt8;
    case binary::kFloat4Oid:
      return E::kFloat4;
    case binary::kFloat8Oid:
      return E::kFloat8;
    case binary::kNumericOid:
      return E::kNumeric;
    case binary::kTextOid:
    case binary::kVarcharOid:
    case binary::kBpcharOid:
    case binary::kNameOid:
      return E::kText;
    case binary::kJsonOid:
      return E::kJson;
    case binary::kJsonbOid:
      return E::kJsonb;
    case binary::kByteaOid:
      return E::kBytea;
    case binary::kDateOid:
      return E::kDate;
    case binary::kTimeOid:
      return E::kTime;
    case binary::kTimetzOid:
      return E::kTimetz;
    case binary::kTimestampOid:
      return E::kTimestamp;
    case binary::kTimestamptzOid:
      return E::kTimestamptz;
    case binary::kIntervalOid:
      return E::kInterval;
    case binary::kUuidOid:
      return E::kUuid;
    default:
      return std::nullopt;
  }
}

}  // namespace

std::string PostgresTypeFor(std::string_view duckdb_type) {
  return NaturalPlan(ParseSourceType(duckdb_type)).create_type;
}

std::optional<ExportColumnPlan> PlanExportColumn(std::string_view duckdb_type,
                                                 const std::string& quoted_column,
                                                 const PostgresColumn* target) {
  const SourceType source = ParseSourceType(duckdb_type);
  ExportColumnPlan plan = NaturalPlan(source);
  if (target != nullptr) {
    std::optional<FieldEncoding> encoding = EncodingForColumn(*target);
    if (!encoding) return std::nullopt;
    plan.encoding = *encoding;
    plan.create_type = target->type_name;
  }
  if (EncodesNatively(source.kind, plan.encoding)) {
    plan.select_expression = quoted_column;
    return plan;
  }
  std::string cast = CastFor(source.kind, plan.encoding, target);
  if (cast.empty()) return std::nullopt;
  // DuckDB's VARCHAR -> BLOB cast reads escapes; encode() takes the text's UTF-8 bytes as they are.
  plan.select_expression = cast == "BLOB" ? "encode(" + quoted_column + ")"
                                          : "CAST(" + quoted_column + " AS " + cast + ")";
  return plan;
}

std::string_view EncodingTypeName(FieldEncoding encoding) {
  switch (encoding) {
    case E::kBool:
      return "boolean";
    case E::kInt2:
      return "smallint";
    case E::kInt4:
      return "integer";
    case E::kInt8:
      return "bigint";
    case E::kFloat4:
      return "real";
    case E::kFloat8:
      return "double precision";
    case E::kNumeric:
      return "numeric";
    case E::kText:
      return "text";
    case E::kJson:
      return "json";
    case E::kJsonb:
      return "jsonb";
    case E::kBytea:
      return "bytea";
    case E::kDate:
      return "date";
    case E::kTime:
      return "time";
    case E::kTimetz:
      return "timetz";
    case E::kTimestamp:
      return "timestamp";
    case E::kTimestamptz:
      return "timestamptz";
    case E::kInterval:
      return "interval";
    case E::kUuid:
      return "uuid";
  }
  return "?";
}

LoadColumnPlan PlanLoadColumn(uint32_t type_oid, int32_t typmod) {
  using D = FieldDecoding;
  switch (type_oid) {
    case binary::kBoolOid:
      return {D::kBool, "BOOLEAN"};
    case binary::kInt2Oid:
      return {D::kInt2, "SMALLINT"};
    case binary::kInt4Oid:
      return {D::kInt4, "INTEGER"};
    case binary::kInt8Oid:
      return {D::kInt8, "BIGINT"};
    case binary::kFloat4Oid:
      return {D::kFloat4, "FLOAT"};
    case binary::kFloat8Oid:
      return {D::kFloat8, "DOUBLE"};
    case binary::kNumericOid: {
      // typmod = ((precision << 16) | scale) + 4; the scale is 11 bits, negative from PG 15 on.
      if (typmod >= 4) {
        const int precision = ((typmod - 4) >> 16) & 0xffff;
        const int scale = (typmod - 4) & 0x7ff;
        if (precision >= 1 && precision <= 38 && scale <= precision && scale < 0x400) {
          return {D::kNumericDecimal,
                  "DECIMAL(" + std::to_string(precision) + "," + std::to_string(scale) + ")", false,
                  precision, scale};
        }
      }
      return {D::kNumericDouble, "DOUBLE"};
    }
    case binary::kTextOid:
    case binary::kVarcharOid:
    case binary::kBpcharOid:
    case binary::kNameOid:
      return {D::kText, "VARCHAR"};
    case binary::kJsonOid:
      return {D::kText, "JSON"};
    case binary::kJsonbOid:
      return {D::kJsonb, "JSON"};
    case binary::kByteaOid:
      return {D::kBytea, "BLOB"};
    case binary::kDateOid:
      return {D::kDate, "DATE"};
    case binary::kTimeOid:
      return {D::kTime, "TIME"};
    case binary::kTimetzOid:
      return {D::kTimetz, "TIME WITH TIME ZONE"};
    case binary::kTimestampOid:
      return {D::kTimestamp, "TIMESTAMP"};
    case binary::kTimestamptzOid:
      return {D::kTimestamptz, "TIMESTAMP WITH TIME ZONE"};
    case binary::kIntervalOid:
      return {D::kInterval, "INTERVAL"};
    case binary::kUuidOid:
      return {D::kUuid, "UUID"};
    default:
      return {D::kText, "VARCHAR", true};
  }
}

}  // namespace kiln::connectors::postgres
