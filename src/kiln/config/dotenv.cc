#include "kiln/config/dotenv.h"

#include <cctype>

#include "kiln/common/files.h"
#include "kiln/config/io_config.h"

namespace kiln::config {
namespace fs = std::filesystem;
namespace {

bool IsNameChar(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         (!first && (std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-'));
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// Expands ${VAR}, ${VAR:-default}, ${VAR-default} and $VAR from `env` (unset: empty).
std::string Expand(const std::string& value, const Environment& env) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '$' || i + 1 == value.size()) {
      out += value[i];
      continue;
    }
    if (value[i + 1] == '{') {
      size_t close = value.find('}', i + 2);
      if (close == std::string::npos) {
        out += value.substr(i);
        break;
      }
      std::string inner = value.substr(i + 2, close - i - 2);
      std::string name = inner, fallback;
      bool has_fallback = false, empty_counts = false;
      if (size_t p = inner.find(":-"); p != std::string::npos) {
        name = inner.substr(0, p), fallback = inner.substr(p + 2),
        has_fallback = empty_counts = true;
      } else if (size_t q = inner.find('-'); q != std::string::npos) {
        name = inner.substr(0, q), fallback = inner.substr(q + 1), has_fallback = true;
      }
      auto v = env.Get(name);
      out += (has_fallback && (!v || (empty_counts && v->empty()))) ? fallback : v.value_or("");
      i = close;
    } else if (IsNameChar(value[i + 1], true)) {
      size_t j = i + 1;
      while (j < value.size() &&
             (std::isalnum(static_cast<unsigned char>(value[j])) || value[j] == '_'))
        ++j;
      out += env.Get(value.substr(i + 1, j - i - 1)).value_or("");
      i = j - 1;
    } else {
      out += value[i];
    }
  }
  return out;
}

}  // namespace

void ParseDotEnv(std::string_view text, const std::string& file, Environment& env) {
  size_t pos = 0;
  int line_no = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    std::string_view raw =
        text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? text.size() + 1 : end + 1;
    ++line_no;
    std::string line = Trim(raw);
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("export ", 0) == 0) line = Trim(line.substr(7));
    size_t eq = line.find('=');
    std::string key = Trim(line.substr(0, eq == std::string::npos ? line.size() : eq));
    bool valid_key = !key.empty() && IsNameChar(key[0], true);
    for (char c : key) valid_key = valid_key && IsNameChar(c, false);
    if (eq == std::string::npos || !valid_key) {
      throw ConfigError(file + ":" + std::to_string(line_no) + ": expected KEY=value, got '" +
                        line + "'");
    }
    std::string rest = line.substr(eq + 1);
    size_t lead = rest.find_first_not_of(" \t");
    rest = lead == std::string::npos ? "" : rest.substr(lead);
    std::string value;
    if (!rest.empty() && (rest[0] == '\'' || rest[0] == '"')) {
      char quote = rest[0];
      size_t i = 1;
      bool closed = false;
      for (; i < rest.size(); ++i) {
        char c = rest[i];
        if (c == quote) {
          closed = true;
          break;
        }
        if (quote == '"' && c == '\\' && i + 1 < rest.size()) {
          char n = rest[++i];
          value += n == 'n' ? '\n' : n == 't' ? '\t' : n == 'r' ? '\r' : n;
        } else {
          value += c;
        }
      }
      if (!closed) {
        throw ConfigError(file + ":" + std::to_string(line_no) + ": unterminated " +
                          (quote == '"' ? "double" : "single") + " quote in the value of " + key);
      }
      if (quote == '"') value = Expand(value, env);
    } else {
      size_t comment = rest.find(" #");
      value = Expand(Trim(rest.substr(0, comment)), env);
    }
    env.SetDefault(key, value);
  }
}

std::vector<fs::path> LoadDotEnvFiles(const fs::path& project_root, Environment& env) {
  std::vector<fs::path> loaded;
  fs::path root = fs::absolute(project_root).lexically_normal();
  if (root.filename().empty()) root = root.parent_path();
  for (const fs::path& file : {root / ".env", root.parent_path() / ".env"}) {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) continue;
    std::string text;
    try {
      text = ReadFile(file);
    } catch (const FileError& e) {
      throw ConfigError(e.what());
    }
    ParseDotEnv(text, file.string(), env);
    loaded.push_back(file);
  }
  return loaded;
}

}  // namespace kiln::config
