#include "support/google_wire.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace kiln::testing::google_wire {
namespace {

using nlohmann::json;

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> Decode(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size() || Hex(text[i + 1]) < 0 || Hex(text[i + 2]) < 0) return std::nullopt;
    out += static_cast<char>(Hex(text[i + 1]) * 16 + Hex(text[i + 2]));
    i += 2;
  }
  return out;
}

//! Whether `text` is percent-encoded as a URI path segment / query value must be: only
//! unreserved characters and %XX escapes (so '/' in an object name arrives as %2F).
bool IsEncoded(const std::string& text) {
  for (unsigned char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                            c == '~' || c == '%';
    if (!unreserved) return false;
  }
  return Decode(text).has_value();
}

std::string Encode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string Base64UrlDecode(std::string text) {
  for (char& c : text) c = c == '-' ? '+' : c == '_' ? '/' : c;
  size_t pad = 0;
  while (text.size() % 4) {
    text += '=';
    ++pad;
  }
  std::string out(text.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return "";
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

bool VerifyRs256(const std::string& public_pem, const std::string& input,
                 const std::string& signature) {
  BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!key) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

//! Google's JSON error body.
std::string ErrorJson(int code, const std::string& reason, const std::string& message) {
  return json{{"error",
               {{"code", code},
                {"message", message},
                {"errors", json::array({{{"reason", reason}, {"message", message}}})}}}}
      .dump();
}

std::string ReasonOf(int status) {
  switch (status) {
    case 401:
      return "authError";
    case 403:
      return "forbidden";
    case 404:
      return "notFound";
    case 429:
      return "rateLimitExceeded";
    case 503:
      return "backendError";
    default:
      return "error";
  }
}

//! Parses form fields "a=b&c=d" (values percent-decoded, '+' as space).
std::map<std::string, std::string> ParseForm(const std::string& body) {
  std::map<std::string, std::string> fields;
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string::npos) end = body.size();
    std::string pair = body.substr(start, end - start);
    size_t eq = pair.find('=');
    std::string value = eq == std::string::npos ? "" : pair.substr(eq + 1);
    std::replace(value.begin(), value.end(), '+', ' ');
    fields[pair.substr(0, eq)] = Decode(value).value_or("\x01malformed");
    start = end + 1;
  }
  return fields;
}

//! "bytes A-B/T", "bytes A-B/*", "bytes */T", "bytes */*" (RFC 7233 as GCS uses it).
std::optional<ContentRange> ParseContentRange(const std::string& text) {
  if (!text.starts_with("bytes ")) return std::nullopt;
  std::string rest = text.substr(6);
  size_t slash = rest.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto number = [](const std::string& s) -> std::optional<uint64_t> {
    if (s.empty() || s.size() > 19) return std::nullopt;
    uint64_t n = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    return n;
  };
  ContentRange range;
  std::string span = rest.substr(0, slash), total = rest.substr(slash + 1);
  if (total != "*") {
    range.total = number(total);
    if (!range.total) return std::nullopt;
  }
  if (span != "*") {
    size_t dash = span.find('-');
    if (dash == std::string::npos) return std::nullopt;
    range.first = number(span.substr(0, dash));
    range.last = number(span.substr(dash + 1));
    if (!range.first || !range.last || *range.last < *range.first) return std::nullopt;
  }
  return range;
}

}  // namespace kiln::testing::google_wire
