#include "kiln/config/io_config.h"

#include <array>

#include "kiln/common/files.h"
#include "kiln/common/yaml.h"
#include "kiln/template/env_functions.h"
#include "kiln/template/render.h"

namespace kiln::config {
namespace fs = std::filesystem;
namespace {

// Mage's KEY_MAP (mage_ai/io/config.py) for the verbose format: flat key -> path.
struct VerboseKey {
  const char* flat;
  std::array<const char*, 3> path;
};
constexpr VerboseKey kVerboseKeys[] = {
    {"POSTGRES_DBNAME", {"PostgreSQL", "database", nullptr}},
    {"POSTGRES_SCHEMA", {"PostgreSQL", "schema", nullptr}},
    {"POSTGRES_USER", {"PostgreSQL", "user", nullptr}},
    {"POSTGRES_PASSWORD", {"PostgreSQL", "password", nullptr}},
    {"POSTGRES_HOST", {"PostgreSQL", "host", nullptr}},
    {"POSTGRES_PORT", {"PostgreSQL", "port", nullptr}},
    {"GOOGLE_SERVICE_ACC_KEY", {"BigQuery", "credentials_mapping", nullptr}},
    {"GOOGLE_SERVICE_ACC_KEY_FILEPATH", {"BigQuery", "path_to_credentials", nullptr}},
    {"GOOGLE_LOCATION", {"BigQuery", "location", nullptr}},
    {"AWS_ACCESS_KEY_ID", {"AWS", "access_key_id", nullptr}},
    {"AWS_SECRET_ACCESS_KEY", {"AWS", "secret_access_key", nullptr}},
    {"AWS_SESSION_TOKEN", {"AWS", "session_token", nullptr}},
    {"AWS_REGION", {"AWS", "region", nullptr}},
    {"DUCKDB_DATABASE", {"Duck DB", "database", nullptr}},
    {"DUCKDB_SCHEMA", {"Duck DB", "schema", nullptr}},
};
constexpr std::array<const char*, 16> kVerboseSections = {
    "Airtable",   "Algolia", "AWS",     "Backblaze B2", "BigQuery",   "Chroma",
    "ClickHouse", "Druid",   "Duck DB", "Pinot",        "PostgreSQL", "Redshift",
    "Snowflake",  "Spark",   "Qdrant",  "Weaviate"};

nlohmann::json FlattenVerbose(const nlohmann::json& profile) {
  bool verbose = false;
  for (const char* s : kVerboseSections)
    if (profile.contains(s)) verbose = true;
  if (!verbose) return profile;
  nlohmann::json flat = nlohmann::json::object();
  for (const auto& k : kVerboseKeys) {
    const nlohmann::json* node = &profile;
    for (const char* part : k.path) {
      if (part == nullptr) break;
      if (!node->is_object() || !node->contains(part)) {
        node = nullptr;
        break;
      }
      node = &(*node)[part];
    }
    if (node != nullptr) flat[k.flat] = *node;
  }
  return flat;
}

}  // namespace

IoProfile::IoProfile(std::string file, std::string name, nlohmann::json values)
    : file_(std::move(file)), name_(std::move(name)), values_(std::move(values)) {}

bool IoProfile::Has(std::string_view key) const {
  return values_.is_object() && values_.contains(key);
}

std::optional<std::string> IoProfile::Get(std::string_view key) const {
  if (!Has(key)) return std::nullopt;
  const nlohmann::json& v = values_[std::string(key)];
  if (v.is_null()) return std::nullopt;
  std::string text = v.is_string() ? v.get<std::string>() : v.dump();
  if (auto unset = templating::FindUnsetEnvMarker(text)) {
    throw ConfigError(file_ + ": " + std::string(key) + " in profile '" + name_ +
                      "' uses environment variable " + *unset +
                      ", which is not set (set it, or add it to the project's .env file)");
  }
  return text;
}

std::string IoProfile::Require(std::string_view key) const {
  auto v = Get(key);
  if (!v) throw ConfigError(file_ + ": profile '" + name_ + "' has no " + std::string(key));
  return *v;
}

IoConfig IoConfig::Load(const fs::path& project_root, const Environment& env) {
  for (const char* name : {"io_config.yaml", "io_config.yml"}) {
    fs::path file = project_root / name;
    if (!fs::exists(file)) continue;
    std::string text;
    try {
      text = ReadFile(file);
    } catch (const FileError& e) {
      throw ConfigError(e.what());
    }
    return Parse(text, file.string(), env);
  }
  IoConfig empty;
  empty.file_ = (project_root / "io_config.yaml").string();
  return empty;
}

IoConfig IoConfig::Parse(std::string_view text, const std::string& file, const Environment& env) {
  IoConfig config;
  config.file_ = file;
  config.exists_ = true;
  templating::Context context;
  // An unset variable renders as a marker so that only the profile that uses it fails.
  templating::AddEnvironmentFunctions(context, env, templating::UnsetEnvPolicy::kMarker);
  std::string rendered;
  try {
    rendered = templating::Render(text, context, file);
  } catch (const templating::TemplateError& e) {
    throw ConfigError(e.what());
  }
  nlohmann::json doc;
  try {
    doc = YamlToJson(ParseYaml(rendered, file));
  } catch (const YamlError& e) {
    std::string hint;
    try {
      ParseYaml(text, file);  // valid as written: a value the templates inserted broke it
      hint =
          " (the file is valid YAML as written: a value inserted by env_var() or "
          "mage_secret_var() holds a character YAML reads specially, such as a quote or a "
          "backslash inside \"...\"; write that setting in single quotes)";
    } catch (const YamlError&) {
    }
    throw ConfigError(std::string(e.what()) + hint);
  }
  if (!doc.is_object()) {
    if (!doc.is_null()) throw ConfigError(file + ": expected a mapping of profiles");
    return config;
  }
  for (auto& [name, value] : doc.items()) {
    if (name == "version") continue;
    if (value.is_object()) config.profiles_[name] = FlattenVerbose(value);
  }
  return config;
}

std::vector<std::string> IoConfig::ProfileNames() const {
  std::vector<std::string> out;
  for (auto& [name, _] : profiles_.items()) out.push_back(name);
  return out;
}

bool IoConfig::HasProfile(std::string_view name) const {
  return profiles_.contains(name);
}

IoProfile IoConfig::Profile(std::string_view name) const {
  if (!HasProfile(name)) {
    std::string names;
    for (const auto& n : ProfileNames()) names += (names.empty() ? "" : ", ") + n;
    throw ConfigError(file_ + ": no profile '" + std::string(name) + "'" +
                      (exists_ ? " (profiles: " + (names.empty() ? "none" : names) + ")"
                               : " (the file does not exist)"));
  }
  return IoProfile(file_, std::string(name), profiles_[std::string(name)]);
}

IoProfile IoConfig::ProfileOrEmpty(std::string_view name) const {
  if (!HasProfile(name)) return IoProfile(file_, std::string(name), nlohmann::json::object());
  return Profile(name);
}

}  // namespace kiln::config
