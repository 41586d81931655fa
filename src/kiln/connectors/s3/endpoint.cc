#include "kiln/connectors/s3/endpoint.h"

#include "kiln/connectors/object_store/object_store.h"
#include "kiln/connectors/s3/sigv4.h"

namespace kiln::connectors {

S3Address AddressOf(const S3Settings& s, std::string_view bucket, std::string_view key,
                    std::vector<std::pair<std::string, std::string>> query) {
  std::string scheme = "https", authority, base_path;
  bool path_style = true;
  if (!s.endpoint.empty()) {
    std::string_view rest = s.endpoint;
    if (const size_t sep = rest.find("://"); sep != std::string_view::npos) {
      scheme = std::string(rest.substr(0, sep));
      rest.remove_prefix(sep + 3);
    }
    while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    const size_t slash = rest.find('/');
    authority = std::string(rest.substr(0, slash));
    if (slash != std::string_view::npos) base_path = std::string(rest.substr(slash));
    if ((scheme != "http" && scheme != "https") || authority.empty()) {
      throw ObjectStoreError(ObjectStoreError::Kind::kOther,
                             "AWS_ENDPOINT '" + s.endpoint + "' of " + s.origin +
                                 " is not an http:// or https:// address with a host");
    }
  } else {
    const std::string region = s.region.empty() ? "us-east-1" : s.region;
    path_style = bucket.empty() || bucket.find('.') != std::string_view::npos;
    authority = (path_style ? "" : std::string(bucket) + ".") + "s3." + region + ".amazonaws.com";
  }
  S3Address a;
  a.host = authority;
  a.canonical_uri = base_path;
  if (path_style && !bucket.empty()) a.canonical_uri += "/" + UriEncode(bucket, true);
  if (!key.empty() || a.canonical_uri.empty()) a.canonical_uri += "/" + UriEncode(key, false);
  a.url = scheme + "://" + authority + a.canonical_uri;
  char sep = '?';
  for (const auto& [name, value] : query) {
    a.url += sep + UriEncode(name, true) + (value.empty() ? "" : "=" + UriEncode(value, true));
    sep = '&';
  }
  a.query = std::move(query);
  return a;
}

}  // namespace kiln::connectors
