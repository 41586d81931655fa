#include "kiln/project/trigger.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>

#include "kiln/common/files.h"
#include "kiln/common/yaml.h"
#include "kiln/project/error.h"

namespace kiln::project {
namespace fs = std::filesystem;
namespace {

constexpr std::array<std::string_view, 5> kValidEnvs = {"dev", "staging", "prod", "test",
                                                        "test_mage"};

std::string Where(const fs::path& file, int line) {
  return file.string() + (line > 0 ? ":" + std::to_string(line) : "");
}

// Reads `count_min`..`count_max` digits at text[pos..]; -1 when there are fewer than count_min.
int Digits(std::string_view text, size_t& pos, size_t count_min, size_t count_max) {
  size_t start = pos;
  int value = 0;
  while (pos < text.size() && pos - start < count_max &&
         std::isdigit(static_cast<unsigned char>(text[pos]))) {
    value = value * 10 + (text[pos++] - '0');
  }
  return pos - start < count_min ? -1 : value;
}

bool IsBlank(char c) {
  return c == ' ' || c == '\t';
}

// PyYAML's timestamp form: YYYY-M-D, or YYYY-M-D[Tt or blanks]H:MM:SS[.f][blanks][Z|+-H[:MM]].
std::optional<DateTime> ParseYamlTimestamp(std::string_view text) {
  size_t pos = 0;
  int y = Digits(text, pos, 4, 4);
  if (y < 0 || pos >= text.size() || text[pos++] != '-') return std::nullopt;
  int mo = Digits(text, pos, 1, 2);
  if (mo < 0 || pos >= text.size() || text[pos++] != '-') return std::nullopt;
  int d = Digits(text, pos, 1, 2);
  if (d < 0) return std::nullopt;
  int h = 0, mi = 0, s = 0, micros = 0, offset = 0;
  if (pos < text.size()) {
    if (text[pos] == 'T' || text[pos] == 't') {
      ++pos;
    } else if (IsBlank(text[pos])) {
      while (pos < text.size() && IsBlank(text[pos])) ++pos;
    } else {
      return std::nullopt;
    }
    h = Digits(text, pos, 1, 2);
    if (h < 0 || pos >= text.size() || text[pos++] != ':') return std::nullopt;
    mi = Digits(text, pos, 2, 2);
    if (mi < 0 || pos >= text.size() || text[pos++] != ':') return std::nullopt;
    s = Digits(text, pos, 2, 2);
    if (s < 0) return std::nullopt;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      int scale = 100'000;
      while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
        micros += (text[pos++] - '0') * scale;
        scale /= 10;
      }
    }
    while (pos < text.size() && IsBlank(text[pos])) ++pos;
    if (pos < text.size() && text[pos] == 'Z') {
      ++pos;
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
      int sign = text[pos++] == '-' ? -1 : 1;
      int oh = Digits(text, pos, 1, 2), om = 0;
      if (oh < 0) return std::nullopt;
      if (pos < text.size() && text[pos] == ':') {
        ++pos;
        om = Digits(text, pos, 2, 2);
        if (om < 0) return std::nullopt;
      }
      offset = sign * (oh * 60 + om);
    }
    if (pos != text.size()) return std::nullopt;
  }
  try {
    DateTime wall = DateTime::FromParts(y, mo, d, h, mi, s, micros);
    return DateTime(wall.wall_micros() - int64_t{offset} * 60'000'000, 0);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

// Reads one trigger entry; collects warnings; throws ProjectError.
class TriggerReader {
 public:
  TriggerReader(const fs::path& file, const std::string& pipeline_uuid,
                std::vector<std::string>& warnings)
      : file_(file), pipeline_uuid_(pipeline_uuid), warnings_(warnings) {}

  Trigger Read(const YAML::Node& node) {
    Trigger t;
    t.file = file_;
    t.line = LineOf(node);
    t.pipeline_uuid = pipeline_uuid_;
    if (!node.IsMap()) {
      throw ProjectError(Where(file_, t.line) +
                         ": each entry of 'triggers' must be a mapping with at least 'name'");
    }
    const YAML::Node name = node["name"];
    if (!name.IsDefined() || name.IsNull() || !name.IsScalar()) {
      throw ProjectError(Where(file_, t.line) + ": a trigger has no name (each needs 'name:')");
    }
    t.name = name.Scalar();
    if (t.name.empty()) throw ProjectError(Where(file_, t.line) + ": a trigger has an empty name");
    for (const auto& kv : node) Key(t, kv.first.Scalar(), kv.second);
    return t;
  }

 private:
  [[noreturn]] void Fail(const Trigger& t, const YAML::Node& at, const std::string& what) const {
    throw ProjectError(Where(file_, LineOf(at) > 0 ? LineOf(at) : t.line) + ": trigger '" + t.name +
                       "': " + what);
  }

  void Warn(const Trigger& t, const YAML::Node& at, const std::string& what) {
    warnings_.push_back(Where(file_, LineOf(at) > 0 ? LineOf(at) : t.line) + ": trigger '" +
                        t.name + "': " + what);
  }

  void Key(Trigger& t, const std::string& key, const YAML::Node& v) {
    const nlohmann::json j = YamlToJson(v);
    if (key == "name" || key == "repo_path") return;  // repo_path is Mage's bookkeeping
    if (key == "schedule_type") {
      if (j.is_null()) return;
      if (j == "time")
        t.schedule_type = ScheduleType::kTime;
      else if (j == "api")
        t.schedule_type = ScheduleType::kApi;
      else if (j == "event")
        t.schedule_type = ScheduleType::kEvent;
      else
        Fail(t, v, "schedule_type must be time, api or event, not " + Shown(v));
    } else if (key == "schedule_interval") {
      if (j.is_null()) return;
      if (!j.is_string()) {
        Fail(t, v,
             "schedule_interval must be text such as '@daily' or '0 * * * *', not " + Shown(v));
      }
      t.schedule_interval = j.get<std::string>();
      t.schedule_interval_line = LineOf(v);
    } else if (key == "start_time" || key == "last_enabled_at") {
      if (j.is_null()) return;
      std::optional<DateTime> time = v.IsScalar() ? ParseTriggerTime(v.Scalar()) : std::nullopt;
      if (!time) {
        Fail(t, v,
             key + " " + Shown(v) +
                 " is not a date or datetime (e.g. 2024-01-01 or 2024-01-01 00:00:00)");
      }
      (key == "start_time" ? t.start_time : t.last_enabled_at) = time;
    } else if (key == "status") {
      if (j.is_null() || j == "inactive")
        t.status = ScheduleStatus::kInactive;
      else if (j == "active")
        t.status = ScheduleStatus::kActive;
      else
        Fail(t, v, "status must be active or inactive, not " + Shown(v));
    } else if (key == "variables") {
      if (j.is_null()) return;
      if (!j.is_object()) Fail(t, v, "variables must be a mapping of names to values");
      t.variables = j;
    } else if (key == "sla") {
      if (j.is_null()) return;
      if (!j.is_number_integer() || j.get<int64_t>() < 0)
        Fail(t, v, "sla must be a whole number of seconds, not " + Shown(v));
      t.sla_seconds = j.get<int64_t>();
    } else if (key == "settings") {
      if (j.is_null()) return;
      if (!v.IsMap()) Fail(t, v, "settings must be a mapping");
      Settings(t, v);
    } else if (key == "envs") {
      Envs(t, v);
    } else if (key == "description" || key == "token") {
      if (j.is_null()) return;
      if (!v.IsScalar()) Fail(t, v, key + " must be text");
      (key == "description" ? t.description : t.token) = v.Scalar();
    } else if (key == "pipeline_uuid") {
      if (j != pipeline_uuid_) {
        Warn(t, v,
             "pipeline_uuid " + Shown(v) + " is ignored: the trigger belongs to pipeline '" +
                 pipeline_uuid_ + "', whose folder holds the file");
      }
    } else {
      t.unknown_keys[key] = j;
      Warn(t, v, "unknown key '" + key + "' (kept, not used)");
    }
  }

  void Settings(Trigger& t, const YAML::Node& node) {
    TriggerSettings& s = t.settings;
    s.raw = YamlToJson(node);
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      const YAML::Node& v = kv.second;
      const nlohmann::json j = YamlToJson(v);
      auto flag = [&](bool& into) {
        if (j.is_null()) return;
        if (!j.is_boolean()) Fail(t, v, "settings." + key + " must be true or false");
        into = j.get<bool>();
      };
      if (key == "skip_if_previous_running") {
        flag(s.skip_if_previous_running);
      } else if (key == "allow_blocks_to_fail") {
        flag(s.allow_blocks_to_fail);
      } else if (key == "create_initial_pipeline_run") {
        flag(s.create_initial_pipeline_run);
      } else if (key == "landing_time_enabled") {
        flag(s.landing_time_enabled);
      } else if (key == "invalid_schedule_interval") {
        flag(s.invalid_schedule_interval);
      } else if (key == "pipeline_run_limit" && !j.is_null()) {
        if (!j.is_number_integer() || j.get<int64_t>() < 0)
          Fail(t, v, "settings.pipeline_run_limit must be a whole number of runs");
        s.pipeline_run_limit = j.get<int64_t>();
      } else if (key == "timeout" && !j.is_null()) {
        if (!j.is_number() || j.get<double>() < 0)
          Fail(t, v, "settings.timeout must be a number of seconds");
        s.timeout_seconds = j.get<double>();
      } else if (key == "timeout_status" && !j.is_null()) {
        if (j != "failed" && j != "cancelled")
          Fail(t, v, "settings.timeout_status must be failed or cancelled, not " + Shown(v));
        s.timeout_status = j.get<std::string>();
      }
    }
  }

  void Envs(Trigger& t, const YAML::Node& v) {
    if (!v.IsDefined() || v.IsNull()) return;
    if (!v.IsSequence()) Fail(t, v, "envs must be a list such as [prod, staging]");
    for (const auto& item : v) {
      std::string env = item.IsScalar() ? item.Scalar() : "";
      if (std::find(kValidEnvs.begin(), kValidEnvs.end(), env) == kValidEnvs.end()) {
        Fail(t, item,
             "envs: " + Shown(item) + " is not one of dev, staging, prod, test, test_mage");
      }
      t.envs.push_back(env);
    }
  }

  // A value as it appears in a message: scalars quoted, collections as compact JSON.
  static std::string Shown(const YAML::Node& v) {
    if (v.IsScalar()) return "'" + v.Scalar() + "'";
    return YamlToJson(v).dump();
  }

  const fs::path& file_;
  const std::string& pipeline_uuid_;
  std::vector<std::string>& warnings_;
};

}  // namespace

std::string_view ScheduleTypeName(ScheduleType type) {
  switch (type) {
    case ScheduleType::kTime:
      return "time";
    case ScheduleType::kApi:
      return "api";
    case ScheduleType::kEvent:
      return "event";
  }
  return "time";
}

std::string_view ScheduleStatusName(ScheduleStatus status) {
  return status == ScheduleStatus::kActive ? "active" : "inactive";
}

std::string Trigger::Where(int at_line) const {
  return project::Where(file, at_line > 0 ? at_line : line);
}

bool Trigger::AppliesToEnv(std::string_view mage_env) const {
  return envs.empty() || std::find(envs.begin(), envs.end(), mage_env) != envs.end();
}

std::string MageEnvName(const std::optional<std::string>& env_variable) {
  if (!env_variable) return "dev";
  if (*env_variable == "prod" || *env_variable == "production") return "prod";
  if (*env_variable == "staging" || *env_variable == "test") return *env_variable;
  return "dev";
}

std::optional<DateTime> ParseTriggerTime(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  std::optional<DateTime> parsed = ParseYamlTimestamp(text);
  if (!parsed) parsed = DateTime::Parse(text);  // fromisoformat: "2024-01-01T06:30", "+0200"
  if (!parsed) return std::nullopt;
  return DateTime(parsed->utc_micros(), 0);
}

TriggersFile ParseTriggers(std::string_view yaml, const fs::path& file,
                           const std::string& pipeline_uuid) {
  TriggersFile out;
  YAML::Node doc;
  try {
    doc = ParseYaml(yaml, file.string());
  } catch (const YamlError& e) {
    throw ProjectError(e.what());
  }
  if (!doc.IsDefined() || doc.IsNull()) return out;
  if (!doc.IsMap()) {
    throw ProjectError(Where(file, LineOf(doc)) + ": expected a mapping with a 'triggers:' list");
  }
  YAML::Node list;
  for (const auto& kv : doc) {
    if (kv.first.Scalar() == "triggers") {
      list = kv.second;
    } else {
      out.warnings.push_back(Where(file, LineOf(kv.first)) + ": unknown top-level key '" +
                             kv.first.Scalar() + "' (ignored; triggers go under 'triggers:')");
    }
  }
  if (!list.IsDefined() || list.IsNull()) return out;
  if (!list.IsSequence()) {
    throw ProjectError(Where(file, LineOf(list)) + ": 'triggers' must be a list of triggers");
  }
  TriggerReader reader(file, pipeline_uuid, out.warnings);
  std::map<std::string, int> seen;
  for (const auto& node : list) {
    Trigger t = reader.Read(node);
    auto [it, inserted] = seen.emplace(t.name, t.line);
    if (!inserted) {
      throw ProjectError(t.Where() + ": trigger '" + t.name +
                         "' is declared twice (first on line " + std::to_string(it->second) +
                         "); names are unique within a pipeline");
    }
    out.triggers.push_back(std::move(t));
  }
  return out;
}

TriggersFile LoadTriggers(const fs::path& project_root, const std::string& pipeline_uuid) {
  fs::path file = project_root / "pipelines" / pipeline_uuid / "triggers.yaml";
  if (!fs::exists(file)) return {};
  std::string text;
  try {
    text = ReadFile(file);
  } catch (const Error& e) {
    throw ProjectError(e.what());
  }
  return ParseTriggers(text, file, pipeline_uuid);
}

}  // namespace kiln::project
