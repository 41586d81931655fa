#include "kiln/common/yaml.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <regex>

#include "kiln/common/files.h"

namespace kiln {
namespace {

// PyYAML's implicit resolvers (YAML 1.1): the same patterns, so that a value means what it
// means to Mage. Timestamps stay strings (Python would make datetimes).
const std::regex kBool(
    "yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF");
const std::regex kInt(
    "[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|"
    "[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+");
const std::regex kFloat(
    "[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?|\\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|"
    "[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN)");
const std::regex kNull("~|null|Null|NULL|");

// Splits a sign off `digits` (underscores removed).
std::pair<bool, std::string> Unsigned(std::string text) {
  std::erase(text, '_');
  bool negative = !text.empty() && text[0] == '-';
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) text.erase(0, 1);
  return {negative, text};
}

// Value of a sexagesimal "1:30:05" (base 60), as PyYAML computes it.
double Sexagesimal(const std::string& text) {
  double value = 0;
  size_t start = 0;
  while (true) {
    size_t colon = text.find(':', start);
    value = value * 60 + std::stod(text.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return value;
}

nlohmann::json ResolveInt(const std::string& scalar) {
  auto [negative, text] = Unsigned(scalar);
  int64_t value = 0;
  if (text.find(':') != std::string::npos) {
    value = static_cast<int64_t>(Sexagesimal(text));
  } else {
    int base = 10;
    size_t skip = 0;
    if (text.starts_with("0b")) {
      base = 2, skip = 2;
    } else if (text.starts_with("0x")) {
      base = 16, skip = 2;
    } else if (text.size() > 1 && text[0] == '0') {
      base = 8, skip = 1;
    }
    auto [end, ec] = std::from_chars(text.data() + skip, text.data() + text.size(), value, base);
    if (ec != std::errc() || end != text.data() + text.size()) return scalar;  // out of range
  }
  return negative ? -value : value;
}

nlohmann::json ResolveFloat(const std::string& scalar) {
  auto [negative, text] = Unsigned(scalar);
  double value;
  if (text == ".inf" || text == ".Inf" || text == ".INF") {
    value = std::numeric_limits<double>::infinity();
  } else if (text == ".nan" || text == ".NaN" || text == ".NAN") {
    return std::nan("");
  } else if (text.find(':') != std::string::npos) {
    value = Sexagesimal(text);
  } else {
    value = std::stod(text);
  }
  return negative ? -value : value;
}

nlohmann::json ResolveScalar(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;  // quoted: always a string
  if (std::regex_match(s, kNull)) return nullptr;
  if (std::regex_match(s, kBool))
    return s[0] == 'y' || s[0] == 'Y' || s[0] == 't' || s[0] == 'T' || s == "on" || s == "On" ||
           s == "ON";
  if (std::regex_match(s, kInt)) return ResolveInt(s);
  if (std::regex_match(s, kFloat)) return ResolveFloat(s);
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

namespace {

// A float as PyYAML writes it: always with a '.', so that it reads back as a float.
std::string YamlFloat(double value) {
  if (std::isnan(value)) return ".nan";
  if (std::isinf(value)) return value > 0 ? ".inf" : "-.inf";
  std::string text = nlohmann::json(value).dump();
  if (text.find_first_of(".") == std::string::npos) {
    size_t exponent = text.find_first_of("eE");
    text.insert(exponent == std::string::npos ? text.size() : exponent, ".0");
  }
  return text;
}

void Emit(YAML::Emitter& out, const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      out << YAML::Null;
      return;
    case YAML::NodeType::Scalar:
      // A quoted scalar whose text would resolve to another type stays quoted.
      if (node.Tag() == "!" && !ResolveScalar(YAML::Node(node.Scalar())).is_string()) {
        out << YAML::DoubleQuoted << node.Scalar();
      } else {
        out << node.Scalar();
      }
      return;
    case YAML::NodeType::Sequence:
      out << YAML::BeginSeq;
      for (const auto& item : node) Emit(out, item);
      out << YAML::EndSeq;
      return;
    case YAML::NodeType::Map:
      out << YAML::BeginMap;
      for (const auto& kv : node) {
        out << YAML::Key;
        Emit(out, kv.first);
        out << YAML::Value;
        Emit(out, kv.second);
      }
      out << YAML::EndMap;
      return;
  }
}

}  // namespace

YAML::Node JsonToYaml(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return YAML::Node(YAML::NodeType::Null);
    case nlohmann::json::value_t::boolean:
      return YAML::Node(value.get<bool>() ? "true" : "false");
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return YAML::Node(value.dump());
    case nlohmann::json::value_t::number_float:
      return YAML::Node(YamlFloat(value.get<double>()));
    case nlohmann::json::value_t::string: {
      YAML::Node node(value.get<std::string>());
      node.SetTag("!");
      return node;
    }
    case nlohmann::json::value_t::array: {
      YAML::Node node(YAML::NodeType::Sequence);
      for (const auto& item : value) node.push_back(JsonToYaml(item));
      return node;
    }
    case nlohmann::json::value_t::object: {
      YAML::Node node(YAML::NodeType::Map);
      for (const auto& [key, item] : value.items()) node[key] = JsonToYaml(item);
      return node;
    }
    default:  // binary, discarded
      return YAML::Node(YAML::NodeType::Null);
  }
}

std::string DumpYaml(const YAML::Node& node) {
  YAML::Emitter out;
  Emit(out, node);
  return std::string(out.c_str()) + "\n";
}

int LineOf(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  return node.Mark().line < 0 ? 0 : node.Mark().line + 1;
}

}  // namespace kiln
