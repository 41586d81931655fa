// connectors/crypto/digest.h: the hashing, MAC, encoding and signing that cloud APIs need
// (S3 SigV4: SHA-256 and HMAC-SHA256; Google service accounts: RS256 JWTs), over OpenSSL.
// Inputs and outputs are raw bytes in std::string unless a function says hex or base64.
#pragma once

#include <string>
#include <string_view>

#include "kiln/connectors/error.h"

namespace kiln::connectors {

//! OpenSSL refused (a key it cannot read, an internal failure). what() says which step.
class CryptoError : public ConnectorError {
 public:
  using ConnectorError::ConnectorError;
};

//! SHA-256 of `data`: 32 raw bytes.
std::string Sha256(std::string_view data);
//! HMAC-SHA256 of `data` under `key`: 32 raw bytes.
std::string HmacSha256(std::string_view key, std::string_view data);
//! Lower-case hex of raw bytes ("ba7816bf...").
std::string Hex(std::string_view bytes);
//! Standard base64 with '=' padding (RFC 4648 §4).
std::string Base64(std::string_view bytes);
//! URL-safe base64 without padding (RFC 4648 §5), as JWTs use.
std::string Base64Url(std::string_view bytes);
//! RSASSA-PKCS1-v1_5 SHA-256 signature (JWT "RS256") of `data` with the PEM private key
//! `private_key_pem` (PKCS#8 "BEGIN PRIVATE KEY" or PKCS#1 "BEGIN RSA PRIVATE KEY"): raw bytes.
//! Throws CryptoError naming the problem (never the key) when the key cannot be read.
std::string RsaSha256Sign(std::string_view private_key_pem, std::string_view data);

}  // namespace kiln::connectors
