#include "kiln/connectors/bigquery/load_columns.h"

#include "kiln/common/names.h"

namespace kiln::connectors::bigquery {

std::string LoadableSelect(data::Connection& duck, const std::string& relation, bool* changed) {
  data::Result schema = duck.Query("DESCRIBE SELECT * FROM " + relation);
  std::string list;
  bool any = false;
  for (uint64_t r = 0; r < schema.row_count(); ++r) {
    const std::string name = schema.GetString(0, r).value_or("");
    const std::string type = schema.GetString(1, r).value_or("");
    std::string clean = name;
    for (char& c : clean)
      if (c == ' ') c = '_';  // Mage: df.columns.str.replace(' ', '_')
    std::string value = QuoteIdentifier(name);
    if (type == "TIMESTAMP_NS") {  // BigQuery keeps microseconds
      value = "CAST(" + value + " AS TIMESTAMP)";
      any = true;
    }
    any |= clean != name;
    list += (list.empty() ? "" : ", ") + value + " AS " + QuoteIdentifier(clean);
  }
  if (changed) *changed = any;
  return "(SELECT " + list + " FROM " + relation + ")";
}

}  // namespace kiln::connectors::bigquery
