#include "kiln/connectors/s3/sigv4.h"

#include <algorithm>
#include <ctime>

#include "kiln/connectors/crypto/digest.h"
#include "kiln/connectors/http/http_client.h"

namespace kiln::connectors {
namespace {

//! A header value as SigV4 canonicalises it: trimmed, runs of spaces made one.
std::string TrimValue(std::string_view value) {
  std::string out;
  bool space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string Utc(std::chrono::system_clock::time_point now, const char* format) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, format, &tm);
  return text;
}

}  // namespace

std::string UriEncode(std::string_view text, bool encode_slash) {
  if (encode_slash) return PercentEncode(text);
  std::string out;
  for (size_t start = 0;;) {  // each '/'-separated segment encoded, the slashes kept
    const size_t slash = text.find('/', start);
    out += PercentEncode(text.substr(start, slash - start));
    if (slash == std::string_view::npos) return out;
    out += '/';
    start = slash + 1;
  }
}

std::string CanonicalRequest(const SigV4Request& r) {
  std::vector<std::pair<std::string, std::string>> query;
  for (const auto& [name, value] : r.query)
    query.emplace_back(UriEncode(name, true), UriEncode(value, true));
  std::sort(query.begin(), query.end());
  std::string canonical_query;
  for (const auto& [name, value] : query)
    canonical_query += (canonical_query.empty() ? "" : "&") + name + "=" + value;
  std::string canonical_headers, signed_headers;
  for (const auto& [name, value] : r.headers) {  // std::map: sorted by lower-case name
    canonical_headers += name + ":" + TrimValue(value) + "\n";
    signed_headers += (signed_headers.empty() ? "" : ";") + name;
  }
  return r.method + "\n" + (r.canonical_uri.empty() ? "/" : r.canonical_uri) + "\n" +
         canonical_query + "\n" + canonical_headers + "\n" + signed_headers + "\n" +
         r.payload_sha256;
}

std::string SignV4(SigV4Request& r, const SigV4Credentials& c,
                   std::chrono::system_clock::time_point now) {
  const std::string amz_date = Utc(now, "%Y%m%dT%H%M%SZ");
  const std::string date = amz_date.substr(0, 8);
  r.headers["host"] = r.host;
  r.headers["x-amz-date"] = amz_date;
  r.headers["x-amz-content-sha256"] = r.payload_sha256;
  if (!c.session_token.empty()) r.headers["x-amz-security-token"] = c.session_token;

  const std::string scope = date + "/" + c.region + "/" + c.service + "/aws4_request";
  const std::string string_to_sign =
      "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" + Hex(Sha256(CanonicalRequest(r)));
  const std::string key = HmacSha256(
      HmacSha256(HmacSha256(HmacSha256("AWS4" + c.secret_access_key, date), c.region), c.service),
      "aws4_request");
  std::string signed_headers;
  for (const auto& [name, value] : r.headers)
    signed_headers += (signed_headers.empty() ? "" : ";") + name;
  return "AWS4-HMAC-SHA256 Credential=" + c.access_key_id + "/" + scope +
         ", SignedHeaders=" + signed_headers +
         ", Signature=" + Hex(HmacSha256(key, string_to_sign));
}

}  // namespace kiln::connectors
