#include "kiln/config/dotenv.h"

#include <cctype>
#include <map>
#include <optional>

#include "kiln/common/files.h"
#include "kiln/config/io_config.h"

namespace kiln::config {
namespace fs = std::filesystem;
namespace {

bool IsNameChar(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         (!first && (std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-'));
}

// Reads one .env file's assignments in order. Values are expanded against `lookup` (the
// environment, then this file's earlier assignments).
class DotEnvScanner {
 public:
  DotEnvScanner(std::string_view text, const std::string& file, const Environment& env)
      : text_(text), file_(file), env_(env) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") text_.remove_prefix(3);  // UTF-8 byte order mark
  }

  //! key -> value, a later assignment of a key replacing an earlier one (as docker compose).
  std::map<std::string, std::string> Parse() {
    while (pos_ < text_.size()) ParseLine();
    return values_;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    throw ConfigError(file_ + ":" + std::to_string(line_) + ": " + what);
  }
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void SkipBlanks() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\r'))
      ++pos_;
  }
  void SkipToNextLine() {
    while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
    if (pos_ < text_.size()) ++pos_;
    ++line_;
  }

  std::optional<std::string> Lookup(const std::string& name) const {
    if (auto v = env_.Get(name)) return v;
    if (auto it = values_.find(name); it != values_.end()) return it->second;
    return std::nullopt;
  }

  // After a '$' at pos_: ${VAR}, ${VAR:-default}, ${VAR-default}, $VAR, or $$ (a literal '$').
  std::string Expansion() {
    if (Peek() == '$') {
      ++pos_;
      return "$";
    }
    if (Peek() == '{') {
      size_t close = text_.find('}', pos_);
      if (close == std::string_view::npos) Fail("unterminated ${...}");
      std::string inner(text_.substr(pos_ + 1, close - pos_ - 1));
      pos_ = close + 1;
      std::string name = inner, fallback;
      bool has_fallback = false, empty_counts = false;
      if (size_t p = inner.find(":-"); p != std::string::npos) {
        name = inner.substr(0, p), fallback = inner.substr(p + 2),
        has_fallback = empty_counts = true;
      } else if (size_t q = inner.find('-'); q != std::string::npos) {
        name = inner.substr(0, q), fallback = inner.substr(q + 1), has_fallback = true;
      }
      auto v = Lookup(name);
      return has_fallback && (!v || (empty_counts && v->empty())) ? fallback : v.value_or("");
    }
    std::string name;
    while (pos_ < text_.size() &&
           (IsNameChar(text_[pos_], name.empty()) && text_[pos_] != '.' && text_[pos_] != '-')) {
      name += text_[pos_++];
    }
    if (name.empty()) return "$";
    return Lookup(name).value_or("");
  }

  std::string Quoted(char quote) {
    ++pos_;  // the opening quote
    const int opened_on = line_;
    std::string value;
    while (true) {
      if (pos_ >= text_.size()) {
        line_ = opened_on;
        Fail(std::string("unterminated ") + (quote == '"' ? "double" : "single") + " quote");
      }
      char c = text_[pos_++];
      if (c == quote) break;
      if (c == '\n') ++line_;
      if (quote == '"' && c == '\\' && pos_ < text_.size()) {
        char n = text_[pos_++];
        value += n == 'n' ? '\n' : n == 't' ? '\t' : n == 'r' ? '\r' : n;  // \$ is a literal '$'
      } else if (quote == '"' && c == '$') {
        value += Expansion();
      } else {
        value += c;
      }
    }
    return value;
  }

  std::string Unquoted() {
    std::string value;
    while (pos_ < text_.size() && text_[pos_] != '\n') {
      char c = text_[pos_];
      if (c == '#' && (value.empty() || value.back() == ' ' || value.back() == '\t')) break;
      ++pos_;
      if (c == '$') {
        value += Expansion();
      } else {
        value += c;
      }
    }
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())))
      value.pop_back();
    return value;
  }

  void ParseLine() {
    SkipBlanks();
    if (Peek() == '\n' || Peek() == '#' || pos_ >= text_.size()) {
      SkipToNextLine();
      return;
    }
    if (text_.substr(pos_, 7) == "export ") {
      pos_ += 7;
      SkipBlanks();
    }
    std::string key;
    while (pos_ < text_.size() && IsNameChar(text_[pos_], key.empty())) key += text_[pos_++];
    SkipBlanks();
    if (key.empty()) Fail("expected KEY=value (a variable name first)");
    if (Peek() == '\n' || pos_ >= text_.size()) {  // a bare KEY takes the environment's value
      SkipToNextLine();
      return;
    }
    if (Peek() != '=') Fail("expected '=' after " + key);
    ++pos_;
    SkipBlanks();
    std::string value;
    if (Peek() == '"' || Peek() == '\'') {
      value = Quoted(Peek());
      SkipBlanks();
      if (Peek() == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else if (Peek() != '\n' && pos_ < text_.size()) {
        Fail("unexpected text after the quoted value of " + key);
      }
    } else {
      value = Unquoted();
    }
    values_[key] = value;
    SkipToNextLine();
  }

  std::string_view text_;
  const std::string& file_;
  const Environment& env_;
  size_t pos_ = 0;
  int line_ = 1;
  std::map<std::string, std::string> values_;
};

}  // namespace

void ParseDotEnv(std::string_view text, const std::string& file, Environment& env) {
  for (auto& [key, value] : DotEnvScanner(text, file, env).Parse()) env.SetDefault(key, value);
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
