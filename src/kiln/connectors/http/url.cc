#include "kiln/connectors/http/url.h"

#include <algorithm>
#include <cctype>

namespace kiln::connectors::http_internal {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

UrlParts SplitUrl(std::string_view url) {
  UrlParts parts;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    parts.path = std::string(url.substr(0, url.find_first_of("?#")));
    return parts;
  }
  parts.scheme = Lower(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  size_t authority_end = rest.find_first_of("/?#");
  parts.authority = std::string(rest.substr(0, authority_end));
  size_t at = parts.authority.rfind('@');
  parts.host_port = at == std::string::npos ? parts.authority : parts.authority.substr(at + 1);
  if (authority_end != std::string_view::npos) {
    std::string_view path = rest.substr(authority_end);
    parts.path = std::string(path.substr(0, path.find_first_of("?#")));
  }
  return parts;
}

std::string RedactUrl(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  size_t authority_start = scheme_end + 3;
  size_t authority_end = url.find_first_of("/?#", authority_start);
  std::string_view authority = url.substr(authority_start, authority_end == std::string_view::npos
                                                               ? std::string_view::npos
                                                               : authority_end - authority_start);
  size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, authority_start));
  out += url.substr(authority_start + at + 1);
  return out;
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int high = HexValue(text[i + 1]);
      int low = HexValue(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out += static_cast<char>(high * 16 + low);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::string BodyFileName(std::string_view url) {
  std::string path = SplitUrl(url).path;
  std::string name = PercentDecode(path.substr(path.rfind('/') + 1));
  for (char& c : name) {
    auto u = static_cast<unsigned char>(c);
    if (c == '/' || c == '\\' || u < 0x20 || u == 0x7f) c = '_';
  }
  if (name.empty() || name == "." || name == "..") return "download";
  if (name == "meta.json") return "body.meta.json";
  if (name.front() == '.') name.insert(name.begin(), '_');
  return name;
}

bool PathSaysGzip(std::string_view url) {
  std::string path = Lower(SplitUrl(url).path);
  return path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
}

std::filesystem::path FileUrlPath(std::string_view url) {
  UrlParts parts = SplitUrl(url);
  if (!parts.host_port.empty() && Lower(parts.host_port) != "localhost") return {};
  return std::filesystem::path(PercentDecode(parts.path));
}

}  // namespace kiln::connectors::http_internal
