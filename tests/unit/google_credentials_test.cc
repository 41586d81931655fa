// Service-account keys and the JWT bearer assertion: every field as Google documents it, the
// signature verified with the key's public half, and errors that name the field, never the key.
// (Contract tests: no Google service is called.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "kiln/connectors/google/credentials.h"

namespace kiln::connectors {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::string Base64UrlDecode(std::string text) {
  for (char& c : text) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (text.size() % 4) text += '=';
  std::string out(text.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  out.resize(static_cast<size_t>(n));
  while (!text.empty() && text.back() == '=') {  // EVP_DecodeBlock keeps padding bytes
    out.pop_back();
    text.pop_back();
  }
  return out;
}

class GoogleCredentialsTest : public ::testing::Test {
 protected:
  GoogleCredentialsTest() : key_(EVP_RSA_gen(2048)) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    pem_.assign(data, static_cast<size_t>(size));
    BIO_free(bio);
  }
  json Key() const {
    return {{"type", "service_account"},
            {"project_id", "de-zoomcamp-412301"},
            {"private_key_id", "a1b2c3"},
            {"private_key", pem_},
            {"client_email", "mage@de-zoomcamp-412301.iam.gserviceaccount.com"},
            {"token_uri", "https://oauth2.googleapis.com/token"}};
  }
  std::unique_ptr<EVP_PKEY, KeyFree> key_;
  std::string pem_;
};

TEST_F(GoogleCredentialsTest, TheAssertionCarriesGooglesClaimsAndVerifiesWithThePublicKey) {
  GoogleCredentials c = ParseServiceAccountKey(Key(), "test key");
  EXPECT_EQ(c.project_id, "de-zoomcamp-412301");
  const auto now = std::chrono::system_clock::from_time_t(1700000000);
  const std::string jwt = JwtAssertion(c, kCloudPlatformScope, now);
  const size_t first = jwt.find('.');
  const size_t second = jwt.find('.', first + 1);
  ASSERT_NE(second, std::string::npos);
  json header = json::parse(Base64UrlDecode(jwt.substr(0, first)));
  json claims = json::parse(Base64UrlDecode(jwt.substr(first + 1, second - first - 1)));
  EXPECT_EQ(header, json({{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "a1b2c3"}}));
  EXPECT_EQ(claims["iss"], "mage@de-zoomcamp-412301.iam.gserviceaccount.com");
  EXPECT_EQ(claims["scope"], "https://www.googleapis.com/auth/cloud-platform");
  EXPECT_EQ(claims["aud"], "https://oauth2.googleapis.com/token");
  EXPECT_EQ(claims["iat"], 1700000000);
  EXPECT_EQ(claims["exp"], 1700003600);

  const std::string signing_input = jwt.substr(0, second);
  const std::string signature = Base64UrlDecode(jwt.substr(second + 1));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key_.get()), 1);
  EXPECT_EQ(EVP_DigestVerify(
                ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()),
            1);
  EVP_MD_CTX_free(ctx);
}

TEST_F(GoogleCredentialsTest, ABadKeyNamesItsSourceAndFieldButNeverTheKey) {
  auto error_of = [](const json& key) -> std::string {
    try {
      ParseServiceAccountKey(key, "io_config.yaml profile 'default'");
    } catch (const CredentialsError& e) {
      return e.what();
    }
    return "no error";
  };
  json no_email = Key();
  no_email.erase("client_email");
  EXPECT_EQ(error_of(no_email),
            "io_config.yaml profile 'default': the service-account key has no 'client_email'");
  json user = Key();
  user["type"] = "authorized_user";
  EXPECT_THAT(error_of(user), HasSubstr("the key's type is 'authorized_user'"));
  json broken = Key();
  broken["private_key"] =
      "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ1dC1icm9rZW4=\n-----END PRIVATE KEY-----\n";
  const std::string message = error_of(broken);
  EXPECT_THAT(message, HasSubstr("the key's 'private_key' cannot be used"));
  EXPECT_THAT(message, Not(HasSubstr("c2VjcmV0")));
  json number = Key();
  number["client_email"] = 7;
  EXPECT_THAT(error_of(number), HasSubstr("'client_email' must be a string"));
  EXPECT_THAT(error_of(json::array()), HasSubstr("a service-account key is a JSON object"));
}

}  // namespace
}  // namespace kiln::connectors
