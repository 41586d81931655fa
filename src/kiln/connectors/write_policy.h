// connectors/write_policy.h: Mage's ExportWritePolicy (§8.3) for every table sink.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kiln::connectors {

//! What an export does when the target table exists: append rows, replace the table, or fail.
enum class ExportWritePolicy { kAppend, kReplace, kFail };

//! Parses "append" / "replace" / "fail" (case-insensitive); nullopt otherwise.
std::optional<ExportWritePolicy> ParseExportWritePolicy(std::string_view text);
std::string_view ExportWritePolicyName(ExportWritePolicy policy);

}  // namespace kiln::connectors
