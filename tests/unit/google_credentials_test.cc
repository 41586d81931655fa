// Service-account keys and the JWT bearer assertion: every field as Google documents it, the
// signature verified with the key's public half, and errors that name the field, never the key.
// (Contract tests: no Google service is called.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
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

class GoogleJwtContractTest : public GoogleCredentialsTest {
 protected:
  //! The three parts of the assertion signed at 1700000000.
  struct Parts {
    json header, claims;
    std::string signing_input, signature;
  };
  Parts Sign() const {
    GoogleCredentials c = ParseServiceAccountKey(Key(), "test key");
    const std::string jwt =
        JwtAssertion(c, kCloudPlatformScope, std::chrono::system_clock::from_time_t(1700000000));
    const size_t first = jwt.find('.');
    const size_t second = jwt.find('.', first + 1);
    return {json::parse(Base64UrlDecode(jwt.substr(0, first))),
            json::parse(Base64UrlDecode(jwt.substr(first + 1, second - first - 1))),
            jwt.substr(0, second), Base64UrlDecode(jwt.substr(second + 1))};
  }
};

TEST_F(GoogleJwtContractTest, AssertionVerifiesWithTheKeysPublicHalf) {
  Parts parts = Sign();
  EXPECT_EQ(parts.header, json({{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "a1b2c3"}}));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key_.get()), 1);
  EXPECT_EQ(EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(parts.signature.data()),
                             parts.signature.size(),
                             reinterpret_cast<const unsigned char*>(parts.signing_input.data()),
                             parts.signing_input.size()),
            1);
  EVP_MD_CTX_free(ctx);
}

TEST_F(GoogleJwtContractTest, ClaimsCarryIssuerScopeAudienceAndOneHour) {
  json claims = Sign().claims;
  EXPECT_EQ(claims["iss"], "mage@de-zoomcamp-412301.iam.gserviceaccount.com");
  EXPECT_EQ(claims["scope"], "https://www.googleapis.com/auth/cloud-platform");
  EXPECT_EQ(claims["aud"], "https://oauth2.googleapis.com/token");
  EXPECT_EQ(claims["iat"], 1700000000);
  EXPECT_EQ(claims["exp"], 1700003600);
}

//! The message ParseGoogleCredentials throws for `key`, or "no error".
std::string ErrorOf(const json& key) {
  try {
    ParseGoogleCredentials(key, "GOOGLE_SERVICE_ACC_KEY_FILEPATH /home/src/x.json");
  } catch (const CredentialsError& e) {
    return e.what();
  }
  return "no error";
}

TEST_F(GoogleCredentialsTest, MissingClientEmailIsNamed) {
  json key = Key();
  key.erase("client_email");
  EXPECT_EQ(ErrorOf(key),
            "GOOGLE_SERVICE_ACC_KEY_FILEPATH /home/src/x.json: the service-account key has no "
            "'client_email'");
  key["client_email"] = 7;
  EXPECT_THAT(ErrorOf(key), HasSubstr("'client_email' must be a string"));
  EXPECT_THAT(ErrorOf(json::array()), HasSubstr("Google credentials are a JSON object"));
}

TEST_F(GoogleCredentialsTest, UnreadablePrivateKeyIsNamed) {
  json key = Key();
  key["private_key"] =
      "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ1dC1icm9rZW4=\n-----END PRIVATE KEY-----\n";
  const std::string message = ErrorOf(key);
  EXPECT_THAT(message, HasSubstr("/home/src/x.json: the key's 'private_key' cannot be used"));
  EXPECT_THAT(message, Not(HasSubstr("c2VjcmV0")));
}

TEST_F(GoogleCredentialsTest, NotJsonNamesFileLineAndColumn) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("kiln_bad_key_" + std::to_string(::getpid()) + ".json");
  std::ofstream(path) << "{\n  \"type\": \"service_account\",\n  \"client_email\": oops\n}\n";
  try {
    ReadGoogleCredentialsFile(path, "GOOGLE_SERVICE_ACC_KEY_FILEPATH " + path.string());
    FAIL() << "expected CredentialsError";
  } catch (const CredentialsError& e) {
    EXPECT_THAT(e.what(), HasSubstr(path.string() + " is not JSON at line 3, column 19"));
  }
  std::filesystem::remove(path);
  try {
    ReadGoogleCredentialsFile("/nonexistent/key.json", "GOOGLE_SERVICE_ACC_KEY_FILEPATH");
    FAIL() << "expected CredentialsError";
  } catch (const CredentialsError& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot read /nonexistent/key.json: no such file"));
  }
}

TEST_F(GoogleCredentialsTest, ExternalAccountTypeIsRefusedByName) {
  json key = {{"type", "external_account"}, {"audience", "//iam.googleapis.com/x"}};
  EXPECT_THAT(ErrorOf(key), HasSubstr("type 'external_account' (workload identity federation) is "
                                      "not supported"));
  EXPECT_THAT(ErrorOf({{"type", "impersonated_service_account"}}),
              HasSubstr("type 'impersonated_service_account' is not supported"));
}

TEST_F(GoogleCredentialsTest, AuthorizedUserNeedsRefreshToken) {
  json user = {
      {"type", "authorized_user"},
      {"client_id", "764086051850-6qr4p6gpi6hn506pt8ejuq83di341hur.apps.googleusercontent.com"},
      {"client_secret", "d-FL95Q19q7MQmFpd7hHD0Ty"}};
  EXPECT_THAT(ErrorOf(user), HasSubstr("the authorized_user credentials have no 'refresh_token'"));
  EXPECT_THAT(ErrorOf(user), Not(HasSubstr("d-FL95Q19q7MQmFpd7hHD0Ty")));
  user["refresh_token"] = "1//0g-refresh";
  GoogleCredentials c = ParseGoogleCredentials(user, "adc");
  EXPECT_EQ(c.type, GoogleCredentials::Type::kAuthorizedUser);
  EXPECT_EQ(c.refresh_token, "1//0g-refresh");
  EXPECT_EQ(c.token_uri, "https://oauth2.googleapis.com/token");
  EXPECT_THAT(c.CacheKey(), Not(HasSubstr("1//0g-refresh")));  // no secret kept as a key
}

TEST_F(GoogleCredentialsTest, ApplicationDefaultCredentialsComeFromAdcPathThenGcloud) {
  const auto home =
      std::filesystem::temp_directory_path() / ("kiln_adc_home_" + std::to_string(::getpid()));
  std::filesystem::remove_all(home);
  GoogleAuth adc;  // GOOGLE_SERVICE_ACC_KEY: null
  try {
    LoadGoogleCredentials(adc, std::nullopt, home);
    FAIL() << "expected CredentialsError";
  } catch (const CredentialsError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no Google credentials: GOOGLE_APPLICATION_CREDENTIALS is not "
                                    "set and " +
                                    home.string() +
                                    "/.config/gcloud/application_default_credentials.json does "
                                    "not exist"));
  }
  std::filesystem::create_directories(home / ".config/gcloud");
  std::ofstream(home / ".config/gcloud/application_default_credentials.json") << json{
      {"type", "authorized_user"},
      {"client_id", "c"},
      {"client_secret", "s"},
      {"refresh_token", "r"}}.dump();
  EXPECT_EQ(LoadGoogleCredentials(adc, std::nullopt, home).type,
            GoogleCredentials::Type::kAuthorizedUser);
  const auto key_file = home / "sa.json";
  std::ofstream(key_file) << Key().dump();
  adc.adc_path = key_file.string();  // the block's GOOGLE_APPLICATION_CREDENTIALS wins
  EXPECT_EQ(LoadGoogleCredentials(adc, std::nullopt, home).client_email,
            "mage@de-zoomcamp-412301.iam.gserviceaccount.com");
  std::filesystem::remove_all(home);
}

TEST_F(GoogleCredentialsTest, ServiceAccountParserRefusesOtherTypes) {
  json user = Key();
  user["type"] = "authorized_user";
  try {
    ParseServiceAccountKey(user, "io_config.yaml profile 'default'");
    FAIL();
  } catch (const CredentialsError& e) {
    EXPECT_THAT(e.what(), HasSubstr("the key's type is 'authorized_user'"));
  }
}

}  // namespace
}  // namespace kiln::connectors
