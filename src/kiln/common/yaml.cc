#include "kiln/common/yaml.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <regex>

#include "kiln/common/files.h"

namespace kiln {
namespace {

bool OneOf(std::string_view s, std::initializer_list<std::string_view> options) {
  for (auto o : options)
    if (s == o) return true;
  return false;
}

std::optional<int64_t> ParseInt(std::string s) {
  std::erase(s, '_');
  if (s.empty()) return std::nullopt;
  bool neg = false;
  size_t pos = 0;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    pos = 1;
  }
  int base = 10;
  if (s.compare(pos, 2, "0x") == 0) {
    base = 16;
    pos += 2;
  } else if (s.compare(pos, 2, "0o") == 0) {
    base = 8;
    pos += 2;
  } else if (s.size() - pos > 1 && s[pos] == '0') {
    base = 8;  // YAML 1.1: a leading 0 means octal
    pos += 1;
  }
  if (pos >= s.size()) return base == 8 ? std::optional<int64_t>(0) : std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data() + pos, s.data() + s.size(), v, base);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return neg ? -v : v;
}

std::optional<double> ParseFloat(std::string s) {
  std::erase(s, '_');
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (OneOf(s, {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"}))
    return std::numeric_limits<double>::infinity();
  if (OneOf(s, {"-.inf", "-.Inf", "-.INF"})) return -std::numeric_limits<double>::infinity();
  if (OneOf(s, {".nan", ".NaN", ".NAN"})) return std::nan("");
  if (!std::regex_match(s, kFloat)) return std::nullopt;
  return std::stod(s);
}

nlohmann::json ResolveScalar(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;  // quoted: always a string
  if (OneOf(s, {"", "~", "null", "Null", "NULL"})) return nullptr;
  if (OneOf(s, {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"})) return true;
  if (OneOf(s, {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"})) return false;
  if (auto i = ParseInt(s)) return *i;
  if (auto f = ParseFloat(s)) return *f;
  return s;
}

}  // namespace

YAML::Node ParseYaml(std::string_view text, const std::string& origin) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw YamlError(origin + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
}

YAML::Node LoadYamlFile(const std::filesystem::path& path) {
  std::string text;
  try {
    text = ReadFile(path);
  } catch (const FileError& e) {
    throw YamlError(e.what());
  }
  return ParseYaml(text, path.string());
}

nlohmann::json YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return ResolveScalar(node);
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(YamlToJson(item));
      return out;
    }
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = YamlToJson(kv.second);
      return out;
    }
  }
  return nullptr;
}

int LineOf(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  return node.Mark().line < 0 ? 0 : node.Mark().line + 1;
}

}  // namespace kiln
