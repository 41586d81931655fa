#include "kiln/connectors/bigquery/warehouse.h"

#include <vector>

namespace kiln::connectors {

std::string TableRef::Display() const {
  return (project.empty() ? "" : project + ".") + dataset + "." + table;
}

TableRef ParseTableId(std::string_view table_id, const std::string& default_project) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = table_id.find('.', start);
    parts.emplace_back(table_id.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  bool empty_part = false;
  for (const auto& p : parts) empty_part |= p.empty();
  if (empty_part || parts.size() < 2 || parts.size() > 3) {
    throw WarehouseError("table_id '" + std::string(table_id) +
                         "' must be 'dataset.table' or 'project.dataset.table'");
  }
  if (parts.size() == 2) return TableRef{default_project, parts[0], parts[1]};
  return TableRef{parts[0], parts[1], parts[2]};
}

}  // namespace kiln::connectors
