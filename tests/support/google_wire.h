// tests/support/google_wire.h: the pieces of Google's wire formats the fake servers check, as the
// documentation defines them: percent-encoding, base64url, RS256 JWT signatures, form bodies,
// Content-Range values and the JSON error body.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace kiln::testing::google_wire {

//! Decodes %XX escapes; nullopt when an escape is malformed.
std::optional<std::string> Decode(const std::string& text);
//! Whether `text` is percent-encoded as a path segment / query value must be: only unreserved
//! characters and %XX escapes (so '/' in an object name arrives as %2F).
bool IsEncoded(const std::string& text);
//! Percent-encodes everything but unreserved characters.
std::string Encode(const std::string& text);
//! Decodes base64url without padding; "" when malformed.
std::string Base64UrlDecode(std::string text);
//! Whether `signature` is the RS256 signature of `input` under the PEM public key.
bool VerifyRs256(const std::string& public_pem, const std::string& input,
                 const std::string& signature);
//! Google's JSON error body {"error":{"code","message","errors":[{"reason","message"}]}}.
std::string ErrorJson(int code, const std::string& reason, const std::string& message);
//! The `errors[].reason` Google gives with `status` ("notFound", "forbidden", ...).
std::string ReasonOf(int status);
//! Form fields "a=b&c=d" (values percent-decoded, '+' as space).
std::map<std::string, std::string> ParseForm(const std::string& body);

//! "bytes A-B/T", "bytes A-B/*", "bytes */T" or "bytes */*": unset parts are '*'.
struct ContentRange {
  std::optional<uint64_t> first, last, total;
};
//! nullopt when `text` is none of those forms.
std::optional<ContentRange> ParseContentRange(const std::string& text);

}  // namespace kiln::testing::google_wire
