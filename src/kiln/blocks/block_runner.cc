#include "kiln/blocks/block_runner.h"

#include "kiln/blocks/python/python_block.h"
#include "kiln/blocks/sql/sql_block.h"
#include "kiln/common/files.h"

namespace kiln::blocks {

using project::BlockLanguage;
using project::BlockType;

std::optional<std::string> UnsupportedReason(const project::BlockSpec& block) {
  std::string kind = std::string(project::BlockLanguageName(block.language)) + " " +
                     std::string(project::BlockTypeName(block.type));
  switch (block.type) {
    case BlockType::kDataLoader:
    case BlockType::kTransformer:
    case BlockType::kDataExporter:
    case BlockType::kCustom:
      break;
    case BlockType::kDbt:
      return "dbt blocks are not supported yet";
    case BlockType::kConditional:
      return "conditional blocks are not supported yet (the blocks they guard would run "
             "unconditionally)";
    case BlockType::kCallback:
      return "callback blocks are not supported yet";
    case BlockType::kSensor:
    case BlockType::kExtension:
    case BlockType::kGlobalDataProduct:
      return std::string(project::BlockTypeName(block.type)) + " blocks are not supported yet";
    default:
      return std::nullopt;  // not executed in runs
  }
  if (block.language == BlockLanguage::kPython) return std::nullopt;
  if (block.language != BlockLanguage::kSql) {
    return std::string(project::BlockLanguageName(block.language)) + " blocks are not supported (" +
           kind + ")";
  }
  return sql::UnsupportedSqlReason(block);
}

std::unique_ptr<BlockRunner> MakeBlockRunner(const project::BlockSpec& block) {
  if (block.language == BlockLanguage::kPython) return std::make_unique<PythonBlockRunner>();
  return std::make_unique<sql::SqlBlockRunner>();
}

std::string ReadBlockCode(const project::BlockSpec& block) {
  if (block.content) return *block.content;
  try {
    return ReadFile(block.file_path);
  } catch (const FileError& e) {
    throw BlockError("block '" + block.uuid + "': " + e.what());
  }
}

}  // namespace kiln::blocks
