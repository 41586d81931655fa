// common/yaml.h: reading Mage's YAML files with PyYAML's (YAML 1.1) scalar meanings.
// Mage parses its YAML with PyYAML, so unquoted yes/no/on/off are booleans, "~" is null,
// "1_000" is an int. yaml-cpp gives strings; these functions resolve them the same way.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "kiln/common/error.h"

namespace kiln {

//! A YAML file could not be read or parsed. what() is "<file>:<line>: <reason>".
class YamlError : public Error {
 public:
  using Error::Error;
};

//! Parses `text` (named `origin` in errors). Throws YamlError "<origin>:<line>: <reason>".
YAML::Node ParseYaml(std::string_view text, const std::string& origin);

//! Reads and parses a YAML file. Throws YamlError naming the file (and line) on failure.
YAML::Node LoadYamlFile(const std::filesystem::path& path);

//! Converts a YAML tree to JSON, resolving plain scalars as PyYAML does: null (~, null, empty),
//! bool (true/false/yes/no/on/off in their three casings), int (decimal, 0x, 0o, underscores),
//! float (1.5, 1e3, .inf, .nan); quoted scalars stay strings. Timestamps stay strings.
nlohmann::json YamlToJson(const YAML::Node& node);

//! A JSON value as a YAML tree that YamlToJson reads back unchanged: strings PyYAML would read as
//! another type ("yes", "123", "", "~") are marked quoted (tag "!"), floats keep a decimal point.
YAML::Node JsonToYaml(const nlohmann::json& value);

//! `node` as block-style YAML text that PyYAML (and YamlToJson) read back with the same meaning:
//! a scalar that was quoted, or that was made by JsonToYaml from a string, is written
//! double-quoted when it would otherwise read as a bool, number or null. Ends with a newline.
std::string DumpYaml(const YAML::Node& node);

//! 1-based line of `node` in its file (0 when unknown).
int LineOf(const YAML::Node& node);

}  // namespace kiln
