// project/block.h: a block as a pipeline's metadata.yaml declares it (mage-block-execution.md
// §2.2).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::project {

//! Mage's BlockType values (§2.2).
enum class BlockType {
  kDataLoader,
  kTransformer,
  kDataExporter,
  kCustom,
  kSensor,
  kScratchpad,
  kMarkdown,
  kChart,
  kDbt,
  kCallback,
  kConditional,
  kExtension,
  kGlobalDataProduct,
};

//! Block languages and their file extensions: python .py, sql .sql, r .r, yaml .yaml, markdown .md.
enum class BlockLanguage { kPython, kSql, kR, kYaml, kMarkdown };

//! Parses Mage's spelling ("data_loader", ...); nullopt when unknown.
std::optional<BlockType> ParseBlockType(std::string_view name);
std::string_view BlockTypeName(BlockType type);
//! The folder under the project that holds blocks of `type`: "<type>s", except "custom" (§1.1).
std::string BlockTypeFolder(BlockType type);
std::optional<BlockLanguage> ParseBlockLanguage(std::string_view name);
std::string_view BlockLanguageName(BlockLanguage language);
std::string_view BlockLanguageExtension(BlockLanguage language);
//! Charts, markdown and scratchpads never run in pipeline runs (§3); callbacks and conditionals
//! run inside their parent's block run.
bool IsExecutableInRuns(BlockType type);

//! Mage's RetryConfig (§11.4): defaults retries 0, delay 5 s, max_delay 60 s, exponential.
struct RetryConfig {
  int retries = 0;
  double delay_seconds = 5;
  double max_delay_seconds = 60;
  bool exponential_backoff = true;

  //! Builds from a JSON object (keys retries, delay, max_delay, exponential_backoff); missing
  //! keys keep their defaults.
  static RetryConfig FromJson(const nlohmann::json& object);
};

//! One entry of `blocks:` (or `callbacks:`, `conditionals:`, `widgets:`) in a pipeline.
struct BlockSpec {
  std::string uuid;
  std::string name;  //!< display name; the uuid when absent
  BlockType type = BlockType::kCustom;
  BlockLanguage language = BlockLanguage::kPython;
  std::vector<std::string> upstream_blocks;    //!< ordered: defines df_1..df_N
  std::vector<std::string> downstream_blocks;  //!< informational; upstream_blocks is trusted
  nlohmann::json configuration = nlohmann::json::object();  //!< free-form block configuration
  nlohmann::json retry_config;            //!< the block's own retry_config object, or null
  std::optional<double> timeout_seconds;  //!< `timeout`, seconds
  std::optional<std::string> content;     //!< inline `content:` (used instead of the file)
  std::filesystem::path file_path;        //!< resolved absolute path of the block's code file
  std::string section = "blocks";         //!< which list of the pipeline file it came from
  int line = 0;                           //!< 1-based line of the entry in metadata.yaml
  nlohmann::json raw;                     //!< the whole entry, unknown keys included

  //! The configuration value at `key` when it is a non-empty string.
  std::optional<std::string> ConfigString(std::string_view key) const;
};

}  // namespace kiln::project
