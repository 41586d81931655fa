// connectors/http/url.h: the few facts about a URL the fetcher needs (internal to http/).
// Not a general URL parser: it splits "scheme://authority/path?query#fragment" as RFC 3986 does
// and leaves validation to libcurl.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace kiln::connectors::http_internal {

//! The parts of a URL, as written (not percent-decoded). Missing parts are empty.
struct UrlParts {
  std::string scheme;     //!< lower-cased, e.g. "https"
  std::string authority;  //!< "user:pw@host:port" as written
  std::string host_port;  //!< authority without the userinfo, e.g. "example.com:8443"
  std::string path;       //!< "/a/b.csv.gz"; without query and fragment
};

//! Splits `url`. A URL without "://" yields an empty scheme.
UrlParts SplitUrl(std::string_view url);

//! `url` with any "user:password@" removed, for messages and logs.
std::string RedactUrl(std::string_view url);

//! Decodes %XX escapes; malformed escapes are kept as written.
std::string PercentDecode(std::string_view text);

//! The file name to store the body under: the last segment of the URL path, percent-decoded,
//! with characters unsafe in file names ('/', '\\', NUL, control characters) replaced by '_'.
//! "download" when the path has no usable last segment; never "meta.json" or a dot file.
std::string BodyFileName(std::string_view url);

//! True when the URL path ends in ".gz" (case-insensitive).
bool PathSaysGzip(std::string_view url);

//! The local path of a file:// URL ("file:///tmp/a.csv", "file://localhost/tmp/a.csv"),
//! percent-decoded. Empty when the URL names another host.
std::filesystem::path FileUrlPath(std::string_view url);

}  // namespace kiln::connectors::http_internal
