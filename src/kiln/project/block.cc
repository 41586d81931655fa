#include "kiln/project/block.h"

#include <array>
#include <utility>

namespace kiln::project {
namespace {

constexpr std::array<std::pair<BlockType, std::string_view>, 13> kTypeNames = {{
    {BlockType::kDataLoader, "data_loader"},
    {BlockType::kTransformer, "transformer"},
    {BlockType::kDataExporter, "data_exporter"},
    {BlockType::kCustom, "custom"},
    {BlockType::kSensor, "sensor"},
    {BlockType::kScratchpad, "scratchpad"},
    {BlockType::kMarkdown, "markdown"},
    {BlockType::kChart, "chart"},
    {BlockType::kDbt, "dbt"},
    {BlockType::kCallback, "callback"},
    {BlockType::kConditional, "conditional"},
    {BlockType::kExtension, "extension"},
    {BlockType::kGlobalDataProduct, "global_data_product"},
}};

struct LanguageInfo {
  BlockLanguage language;
  std::string_view name;
  std::string_view extension;
};
constexpr std::array<LanguageInfo, 5> kLanguages = {{
    {BlockLanguage::kPython, "python", "py"},
    {BlockLanguage::kSql, "sql", "sql"},
    {BlockLanguage::kR, "r", "r"},
    {BlockLanguage::kYaml, "yaml", "yaml"},
    {BlockLanguage::kMarkdown, "markdown", "md"},
}};

}  // namespace

std::optional<BlockType> ParseBlockType(std::string_view name) {
  for (const auto& [type, n] : kTypeNames)
    if (n == name) return type;
  return std::nullopt;
}

std::string_view BlockTypeName(BlockType type) {
  for (const auto& [t, n] : kTypeNames)
    if (t == type) return n;
  return "unknown";
}

std::string BlockTypeFolder(BlockType type) {
  if (type == BlockType::kCustom) return "custom";
  return std::string(BlockTypeName(type)) + "s";
}

std::optional<BlockLanguage> ParseBlockLanguage(std::string_view name) {
  for (const auto& info : kLanguages)
    if (info.name == name) return info.language;
  return std::nullopt;
}

std::string_view BlockLanguageName(BlockLanguage language) {
  for (const auto& info : kLanguages)
    if (info.language == language) return info.name;
  return "unknown";
}

std::string_view BlockLanguageExtension(BlockLanguage language) {
  for (const auto& info : kLanguages)
    if (info.language == language) return info.extension;
  return "";
}

bool IsExecutableInRuns(BlockType type) {
  switch (type) {
    case BlockType::kChart:
    case BlockType::kMarkdown:
    case BlockType::kScratchpad:
    case BlockType::kCallback:
    case BlockType::kConditional:
      return false;
    default:
      return true;
  }
}

RetryConfig RetryConfig::FromJson(const nlohmann::json& object) {
  RetryConfig c;
  if (!object.is_object()) return c;
  if (auto it = object.find("retries"); it != object.end() && it->is_number())
    c.retries = it->get<int>();
  if (auto it = object.find("delay"); it != object.end() && it->is_number())
    c.delay_seconds = it->get<double>();
  if (auto it = object.find("max_delay"); it != object.end() && it->is_number())
    c.max_delay_seconds = it->get<double>();
  if (auto it = object.find("exponential_backoff"); it != object.end() && it->is_boolean())
    c.exponential_backoff = it->get<bool>();
  return c;
}

std::optional<std::string> BlockSpec::ConfigString(std::string_view key) const {
  if (!configuration.is_object()) return std::nullopt;
  auto it = configuration.find(key);
  if (it == configuration.end() || !it->is_string() || it->get<std::string>().empty())
    return std::nullopt;
  return it->get<std::string>();
}

}  // namespace kiln::project
