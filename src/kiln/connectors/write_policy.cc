#include "kiln/connectors/write_policy.h"

#include <algorithm>
#include <cctype>

namespace kiln::connectors {

std::optional<ExportWritePolicy> ParseExportWritePolicy(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "append") return ExportWritePolicy::kAppend;
  if (lower == "replace") return ExportWritePolicy::kReplace;
  if (lower == "fail") return ExportWritePolicy::kFail;
  return std::nullopt;
}

std::string_view ExportWritePolicyName(ExportWritePolicy policy) {
  switch (policy) {
    case ExportWritePolicy::kAppend:
      return "append";
    case ExportWritePolicy::kReplace:
      return "replace";
    case ExportWritePolicy::kFail:
      return "fail";
  }
  return "append";
}

}  // namespace kiln::connectors
