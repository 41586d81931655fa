#include "kiln/project/pipeline.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "kiln/common/names.h"
#include "kiln/common/yaml.h"
#include "kiln/project/error.h"

namespace kiln::project {
namespace fs = std::filesystem;
namespace {

std::string Where(const fs::path& file, int line) {
  return file.string() + (line > 0 ? ":" + std::to_string(line) : "");
}

// A list of block uuids (`upstream_blocks`, `downstream_blocks`): absent or null is empty; YAML
// numbers become their text (uuid 2021 is "2021"); anything else is an error.
std::vector<std::string> UuidList(const nlohmann::json& entry, const char* key,
                                  const std::string& where, const std::string& uuid) {
  std::vector<std::string> out;
  auto it = entry.find(key);
  if (it == entry.end() || it->is_null()) return out;
  if (!it->is_array()) {
    throw ProjectError(where + ": block '" + uuid + "': " + key + " must be a list of block uuids");
  }
  for (const auto& item : *it) {
    if (item.is_string()) {
      out.push_back(item.get<std::string>());
    } else if (item.is_number() || item.is_boolean()) {
      out.push_back(item.dump());
    } else {
      throw ProjectError(where + ": block '" + uuid + "': " + key + " holds " + item.dump() +
                         ", which is not a block uuid");
    }
  }
  return out;
}

BlockSpec ParseBlock(const YAML::Node& node, const fs::path& file, const fs::path& root,
                     const std::string& section) {
  BlockSpec block;
  block.line = LineOf(node);
  block.section = section;
  if (!node.IsMap()) {
    throw ProjectError(Where(file, block.line) + ": each entry of '" + section +
                       "' must be a mapping with at least 'uuid' and 'type'");
  }
  block.raw = YamlToJson(node);
  const nlohmann::json& raw = block.raw;
  auto uuid = raw.find("uuid");
  if (uuid == raw.end() || !uuid->is_string() || uuid->get<std::string>().empty()) {
    throw ProjectError(Where(file, block.line) + ": a block in '" + section + "' has no uuid");
  }
  block.uuid = uuid->get<std::string>();
  auto type = raw.find("type");
  if (type == raw.end() || !type->is_string()) {
    throw ProjectError(Where(file, block.line) + ": block '" + block.uuid + "' has no type");
  }
  auto parsed_type = ParseBlockType(type->get<std::string>());
  if (!parsed_type) {
    throw ProjectError(Where(file, block.line) + ": block '" + block.uuid +
                       "' has an invalid block type '" + type->get<std::string>() + "'");
  }
  block.type = *parsed_type;
  block.name =
      raw.value("name", nlohmann::json()).is_string() ? raw["name"].get<std::string>() : block.uuid;
  if (auto lang = raw.find("language"); lang != raw.end() && lang->is_string()) {
    auto parsed = ParseBlockLanguage(lang->get<std::string>());
    if (!parsed) {
      throw ProjectError(Where(file, block.line) + ": block '" + block.uuid +
                         "' has an unknown language '" + lang->get<std::string>() + "'");
    }
    block.language = *parsed;
  }
  block.upstream_blocks = UuidList(raw, "upstream_blocks", Where(file, block.line), block.uuid);
  block.downstream_blocks = UuidList(raw, "downstream_blocks", Where(file, block.line), block.uuid);
  if (auto cfg = raw.find("configuration"); cfg != raw.end() && cfg->is_object())
    block.configuration = *cfg;
  if (auto rc = raw.find("retry_config"); rc != raw.end() && rc->is_object())
    block.retry_config = *rc;
  if (auto t = raw.find("timeout"); t != raw.end()) {
    if (t->is_number()) {
      block.timeout_seconds = t->get<double>();
    } else if (t->is_string()) {
      try {
        block.timeout_seconds = std::stod(t->get<std::string>());
      } catch (const std::exception&) {
        throw ProjectError(Where(file, block.line) + ": block '" + block.uuid +
                           "' has a timeout that is not a number of seconds");
      }
    }
  }
  if (auto c = raw.find("content"); c != raw.end() && c->is_string())
    block.content = c->get<std::string>();
  block.file_path = ResolveBlockFile(root, block);
  return block;
}

}  // namespace

fs::path ResolveBlockFile(const fs::path& project_root, const BlockSpec& block) {
  if (auto configured = block.ConfigString("file_path")) {
    fs::path p(*configured);
    if (p.is_absolute()) return p;
    // Mage's add_absolute_path: relative to the project, with or without the project's name
    // as the first component.
    auto it = p.begin();
    if (it != p.end() && *it == project_root.filename()) {
      fs::path rest;
      for (++it; it != p.end(); ++it) rest /= *it;
      if (fs::exists(project_root / rest) || !fs::exists(project_root / p))
        return project_root / rest;
    }
    return project_root / p;
  }
  std::string stem = block.uuid;
  if (auto replica = block.raw.find("replicated_block");
      replica != block.raw.end() && replica->is_string()) {
    stem = replica->get<std::string>();
  }
  return project_root / BlockTypeFolder(block.type) /
         (stem + "." + std::string(BlockLanguageExtension(block.language)));
}

Pipeline Pipeline::Load(const fs::path& project_root, const std::string& uuid) {
  Pipeline p;
  p.uuid_ = uuid;
  p.metadata_path_ = project_root / "pipelines" / uuid / "metadata.yaml";
  if (!fs::exists(p.metadata_path_)) {
    throw ProjectError(p.metadata_path_.string() + ": no such pipeline file");
  }
  YAML::Node doc;
  try {
    doc = LoadYamlFile(p.metadata_path_);
  } catch (const YamlError& e) {
    throw ProjectError(e.what());
  }
  if (!doc.IsMap()) {
    throw ProjectError(Where(p.metadata_path_, LineOf(doc)) +
                       (doc.IsNull()
                            ? ": the pipeline file is empty (Mage rejects it too; it needs "
                              "at least `blocks:`)"
                            : ": expected a mapping of keys (blocks:, variables:, ...)"));
  }
  p.raw_ = YamlToJson(doc);
  p.name_ =
      p.raw_.value("name", nlohmann::json()).is_string() ? p.raw_["name"].get<std::string>() : uuid;
  if (p.raw_.value("type", nlohmann::json()).is_string()) p.type_ = p.raw_["type"];
  if (p.raw_.value("description", nlohmann::json()).is_string())
    p.description_ = p.raw_["description"];
  p.variables_ = p.raw_.value("variables", nlohmann::json());

  auto load_list = [&](const YAML::Node& list, const std::string& section,
                       std::vector<BlockSpec>& into) {
    if (!list.IsDefined() || list.IsNull()) return;
    if (!list.IsSequence()) {
      throw ProjectError(Where(p.metadata_path_, LineOf(list)) + ": '" + section +
                         "' must be a list of blocks");
    }
    for (const auto& node : list)
      into.push_back(ParseBlock(node, p.metadata_path_, project_root, section));
  };
  if (doc.IsMap()) {
    load_list(doc["blocks"], "blocks", p.blocks_);
    for (const char* section : {"callbacks", "conditionals", "widgets"})
      load_list(doc[section], section, p.addon_blocks_);
    if (const YAML::Node ext = doc["extensions"]; ext.IsMap()) {
      for (const auto& kv : ext) {
        if (kv.second.IsMap())
          load_list(kv.second["blocks"], "extensions." + kv.first.as<std::string>(),
                    p.addon_blocks_);
      }
    }
  }

  std::map<std::string, int> seen;
  auto check_unique = [&](const BlockSpec& b) {
    auto [it, inserted] = seen.emplace(b.uuid, b.line);
    if (!inserted) {
      throw ProjectError(Where(p.metadata_path_, b.line) + ": duplicate block uuid '" + b.uuid +
                         "' (first declared on line " + std::to_string(it->second) + ")");
    }
  };
  for (const auto& b : p.blocks_) check_unique(b);
  for (const auto& b : p.addon_blocks_) check_unique(b);
  return p;
}

std::optional<int> Pipeline::BlockRunLimit() const {
  const nlohmann::json config = raw_.value("concurrency_config", nlohmann::json::object());
  if (!config.is_object()) return std::nullopt;
  const nlohmann::json limit = config.value("block_run_limit", nlohmann::json());
  if (!limit.is_number_integer() || limit.get<int64_t>() < 1) return std::nullopt;
  return static_cast<int>(std::min<int64_t>(limit.get<int64_t>(), 1024));
}

const BlockSpec* Pipeline::FindBlock(std::string_view uuid) const {
  for (const auto& b : blocks_)
    if (b.uuid == uuid) return &b;
  for (const auto& b : addon_blocks_)
    if (b.uuid == uuid) return &b;
  return nullptr;
}

std::vector<const BlockSpec*> Pipeline::ExecutableBlocks() const {
  std::vector<const BlockSpec*> out;
  for (const auto& b : blocks_)
    if (IsExecutableInRuns(b.type)) out.push_back(&b);
  return out;
}

std::vector<const BlockSpec*> Pipeline::TopologicalOrder() const {
  std::vector<const BlockSpec*> blocks = ExecutableBlocks();
  std::map<std::string, size_t, std::less<>> index;
  for (size_t i = 0; i < blocks.size(); ++i) index[blocks[i]->uuid] = i;
  std::vector<bool> placed(blocks.size(), false);
  std::vector<const BlockSpec*> order;
  // Repeatedly take the first block (in file order) whose known upstreams are all placed.
  while (order.size() < blocks.size()) {
    bool progressed = false;
    for (size_t i = 0; i < blocks.size(); ++i) {
      if (placed[i]) continue;
      bool ready = std::all_of(blocks[i]->upstream_blocks.begin(), blocks[i]->upstream_blocks.end(),
                               [&](const std::string& up) {
                                 auto it = index.find(up);
                                 return it == index.end() || placed[it->second];
                               });
      if (ready) {
        placed[i] = true;
        order.push_back(blocks[i]);
        progressed = true;
        break;
      }
    }
    if (!progressed) break;  // a cycle: Validate() reports it
  }
  return order;
}

std::vector<Diagnostic> Pipeline::Validate() const {
  std::vector<Diagnostic> out;
  auto error = [&](const BlockSpec& b, std::string what) {
    out.push_back({Diagnostic::Severity::kError, b.uuid,
                   Where(metadata_path_, b.line) + ": block '" + b.uuid + "' " + what});
  };
  auto warning = [&](const BlockSpec& b, std::string what) {
    out.push_back({Diagnostic::Severity::kWarning, b.uuid,
                   Where(metadata_path_, b.line) + ": block '" + b.uuid + "' " + what});
  };

  for (const auto& b : blocks_) {
    for (const auto& up : b.upstream_blocks) {
      if (up == b.uuid) {
        error(b, "lists itself as an upstream block");
      } else if (FindBlock(up) == nullptr) {
        error(b, "names unknown upstream block '" + up + "'");
      }
    }
    if (IsExecutableInRuns(b.type) && b.type != BlockType::kGlobalDataProduct && !b.content &&
        b.type != BlockType::kDbt && !fs::exists(b.file_path)) {
      error(b, "has no code file: " + b.file_path.string() + " does not exist");
    }
  }
  for (const auto& b : addon_blocks_) {
    for (const auto& up : b.upstream_blocks)
      if (FindBlock(up) == nullptr) error(b, "is attached to unknown block '" + up + "'");
    if (!b.content && !fs::exists(b.file_path) && b.type != BlockType::kChart)
      error(b, "has no code file: " + b.file_path.string() + " does not exist");
  }

  // Two uuids Mage would store in the same folder and log file (clean_name: '/' -> '_').
  std::map<std::string, const BlockSpec*> cleaned;
  for (const auto& b : blocks_) {
    if (!IsExecutableInRuns(b.type)) continue;
    auto [it, inserted] = cleaned.emplace(CleanName(b.uuid), &b);
    if (!inserted) {
      error(b, "would share its output folder and log file '" + it->first + "' with block '" +
                   it->second->uuid + "' (uuids are compared after Mage's clean_name)");
    }
  }

  // upstream/downstream agreement (only between blocks of `blocks:`, and only where the file
  // lists downstream_blocks at all: leaving the key out is fine).
  for (const auto& b : blocks_) {
    for (const auto& up : b.upstream_blocks) {
      const BlockSpec* u = FindBlock(up);
      if (u == nullptr || u->section != "blocks" || !u->raw.contains("downstream_blocks")) continue;
      if (std::find(u->downstream_blocks.begin(), u->downstream_blocks.end(), b.uuid) ==
          u->downstream_blocks.end()) {
        warning(b, "has upstream '" + up +
                       "' whose downstream_blocks do not list it (using upstream_blocks)");
      }
    }
    for (const auto& down : b.downstream_blocks) {
      const BlockSpec* d = FindBlock(down);
      if (d == nullptr) {
        warning(b, "lists unknown downstream block '" + down + "' (ignored)");
      } else if (d->section == "blocks" &&
                 std::find(d->upstream_blocks.begin(), d->upstream_blocks.end(), b.uuid) ==
                     d->upstream_blocks.end()) {
        warning(b, "lists downstream '" + down +
                       "' whose upstream_blocks do not name it (using upstream_blocks)");
      }
    }
  }

  // Cycles, through upstream edges among `blocks:` entries; each cycle reported once.
  enum class Mark { kNone, kActive, kDone };
  std::map<std::string, Mark, std::less<>> marks;
  std::vector<std::string> stack;
  std::function<void(const BlockSpec&)> visit = [&](const BlockSpec& b) {
    marks[b.uuid] = Mark::kActive;
    stack.push_back(b.uuid);
    for (const auto& up : b.upstream_blocks) {
      const BlockSpec* u = FindBlock(up);
      if (u == nullptr || u->section != "blocks" || up == b.uuid) continue;
      Mark m = marks[up];
      if (m == Mark::kActive) {
        auto start = std::find(stack.begin(), stack.end(), up);
        std::string path;
        for (auto it = start; it != stack.end(); ++it) path += *it + " <- ";
        path += up;
        error(*u, "is part of a dependency cycle (upstream chain: " + path + ")");
      } else if (m == Mark::kNone) {
        visit(*u);
      }
    }
    stack.pop_back();
    marks[b.uuid] = Mark::kDone;
  };
  for (const auto& b : blocks_)
    if (marks[b.uuid] == Mark::kNone) visit(b);
  return out;
}

}  // namespace kiln::project
