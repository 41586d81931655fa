// OpenObjectStore's gs:// branch outside --local-cloud: credentials are read when the store opens,
// so a bad key or missing ADC fails at once, naming the file and the field or what to set.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "kiln/connectors/cloud/open.h"

namespace kiln::connectors {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class OpenGcsStoreTest : public ::testing::Test {
 protected:
  OpenGcsStoreTest()
      : home_(fs::temp_directory_path() / ("kiln_gcs_open_" + std::to_string(::getpid()))) {
    fs::remove_all(home_);
    fs::create_directories(home_);
  }
  ~OpenGcsStoreTest() override { fs::remove_all(home_); }
  CloudServices Services() {
    return MakeCloudServices(config::CloudMode{}, Environment::FromMap({{"HOME", home_.string()}}));
  }
  std::string ErrorOf(const GoogleAuth& auth) {
    CloudServices services = Services();
    try {
      OpenObjectStore("gs", auth, services);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "no error";
  }
  fs::path home_;
};

TEST_F(OpenGcsStoreTest, KeyFileWithoutPrivateKeyIsNamed) {
  const fs::path key = home_ / "evident-display-410312-3f3459224de6.json";
  std::ofstream(key)
      << R"({"type": "service_account", "client_email": "sa@p.iam.gserviceaccount.com"})";
  GoogleAuth auth;
  auth.source = key;
  auth.origin = "io_config.yaml profile 'default' GOOGLE_SERVICE_ACC_KEY_FILEPATH " + key.string();
  EXPECT_EQ(ErrorOf(auth), auth.origin + ": the service-account key has no 'private_key'");
}

TEST_F(OpenGcsStoreTest, WithoutAnyCredentialsTheErrorSaysWhatToSet) {
  GoogleAuth adc;  // GOOGLE_SERVICE_ACC_KEY: null, no GOOGLE_APPLICATION_CREDENTIALS, no gcloud
  EXPECT_THAT(ErrorOf(adc),
              HasSubstr("no Google credentials: GOOGLE_APPLICATION_CREDENTIALS is "
                        "not set and " +
                        home_.string() + "/.config/gcloud/application_default_credentials.json"));
  EXPECT_THAT(ErrorOf(adc), HasSubstr("the GCE metadata server is not supported"));
}

TEST_F(OpenGcsStoreTest, CopiesOfTheServicesShareOneTokenCache) {
  CloudServices services = Services();
  CloudServices copy = services;
  EXPECT_NE(services.google_tokens, nullptr);
  EXPECT_EQ(copy.google_tokens, services.google_tokens);
  EXPECT_EQ(services.home, home_.string());
}

}  // namespace
}  // namespace kiln::connectors
