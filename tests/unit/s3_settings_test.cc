// S3 settings as boto3 completes them (profile, environment, ~/.aws/credentials), where each
// request goes (path style vs virtual-hosted), and the S3 XML documents Kiln reads and writes.
#include <gtest/gtest.h>

#include "kiln/config/io_config.h"
#include "kiln/connectors/s3/endpoint.h"
#include "kiln/connectors/s3/s3_xml.h"
#include "kiln/connectors/s3/settings.h"
#include "support/temp_dir.h"

namespace kiln::connectors {
namespace {

S3Settings FromProfile(const std::string& keys) {
  S3Settings s;
  s.access_key_id = keys.empty() ? "" : "AKIDPROFILE";
  s.secret_access_key = keys.empty() ? "" : "secret-profile";
  s.origin = "io_config.yaml profile 'default'";
  return s;
}

S3Settings WithEndpoint(const std::string& region, const std::string& endpoint) {
  S3Settings s;
  s.region = region;
  s.endpoint = endpoint;
  return s;
}

TEST(S3SettingsTest, ProfileKeysWinOverEnvironmentAndFile) {
  testing::TempDir home;
  home.Write(".aws/credentials",
             "[default]\naws_access_key_id = AKIDFILE\n"
             "aws_secret_access_key = secret-file\n");
  const Environment env = Environment::FromMap(
      {{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "secret-env"}});
  const S3Settings s = ResolveS3Settings(FromProfile("yes"), env, home.path());
  EXPECT_EQ(s.access_key_id, "AKIDPROFILE");
  EXPECT_EQ(s.secret_access_key, "secret-profile");
  EXPECT_EQ(s.secret_source, "AWS_SECRET_ACCESS_KEY of io_config.yaml profile 'default'");
  EXPECT_EQ(s.region, "us-east-1");
}

TEST(S3SettingsTest, EnvironmentKeysComeBeforeTheCredentialsFile) {
  testing::TempDir home;
  home.Write(".aws/credentials",
             "[default]\naws_access_key_id = AKIDFILE\n"
             "aws_secret_access_key = secret-file\n");
  const Environment env = Environment::FromMap({{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                                                {"AWS_SECRET_ACCESS_KEY", "secret-env"},
                                                {"AWS_SESSION_TOKEN", "token-env"},
                                                {"AWS_DEFAULT_REGION", "eu-west-2"}});
  const S3Settings s = ResolveS3Settings(FromProfile(""), env, home.path());
  EXPECT_EQ(s.access_key_id, "AKIDENV");
  EXPECT_EQ(s.session_token, "token-env");
  EXPECT_EQ(s.region, "eu-west-2");
  EXPECT_EQ(s.secret_source, "the environment variable AWS_SECRET_ACCESS_KEY");
}

TEST(S3SettingsTest, CredentialsFileSectionOfAwsProfileIsRead) {
  testing::TempDir home;
  home.Write(".aws/credentials",
             "# keys\n[default]\naws_access_key_id=AKIDDEFAULT\naws_secret_access_key=x\n\n"
             "[work]\n  aws_access_key_id = AKIDWORK \naws_secret_access_key = secret-work\n");
  const Environment env = Environment::FromMap({{"AWS_PROFILE", "work"}, {"AWS_REGION", "auto"}});
  const S3Settings s = ResolveS3Settings(FromProfile(""), env, home.path());
  EXPECT_EQ(s.access_key_id, "AKIDWORK");
  EXPECT_EQ(s.secret_access_key, "secret-work");
  EXPECT_EQ(s.region, "auto");
  EXPECT_EQ(s.secret_source,
            "aws_secret_access_key of [work] in " + (home.path() / ".aws/credentials").string());
}

TEST(S3SettingsTest, NoKeysAnywhereNamesEverySourceAndTheSwitch) {
  testing::TempDir home;
  try {
    ResolveS3Settings(FromProfile(""), Environment::FromMap({}), home.path());
    FAIL() << "expected a ConfigError";
  } catch (const config::ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("io_config.yaml profile 'default' has no AWS_ACCESS_KEY_ID"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("[default] of " + (home.path() / ".aws/credentials").string()),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("--local-cloud DIR / KILN_LOCAL_CLOUD=DIR"), std::string::npos) << what;
  }
}

TEST(S3SettingsTest, KeyIdWithoutSecretNamesTheMissingSecret) {
  testing::TempDir home;
  S3Settings profile = FromProfile("yes");
  profile.secret_access_key.clear();
  EXPECT_THROW(
      {
        try {
          ResolveS3Settings(profile, Environment::FromMap({}), home.path());
        } catch (const config::ConfigError& e) {
          EXPECT_STREQ(e.what(),
                       "AWS_SECRET_ACCESS_KEY of io_config.yaml profile 'default' is missing "
                       "(access key id AKIDPROFILE)");
          throw;
        }
      },
      config::ConfigError);
}

TEST(S3EndpointTest, AwsBucketsAreVirtualHostedUnlessTheNameHasADot) {
  S3Settings s = WithEndpoint("eu-west-2", "");
  S3Address a = AddressOf(s, "my-bucket", "2021/01/01/daily trips.parquet");
  EXPECT_EQ(a.url, "https://my-bucket.s3.eu-west-2.amazonaws.com/2021/01/01/daily%20trips.parquet");
  EXPECT_EQ(a.host, "my-bucket.s3.eu-west-2.amazonaws.com");
  EXPECT_EQ(a.canonical_uri, "/2021/01/01/daily%20trips.parquet");

  a = AddressOf(s, "my.bucket", "k", {{"uploads", ""}});
  EXPECT_EQ(a.url, "https://s3.eu-west-2.amazonaws.com/my.bucket/k?uploads");
  EXPECT_EQ(a.canonical_uri, "/my.bucket/k");
}

TEST(S3EndpointTest, AwsEndpointMeansPathStyleAndKeepsItsScheme) {
  S3Settings s = WithEndpoint("", "http://127.0.0.1:4568/");
  S3Address a = AddressOf(s, "kiln-test", "", {{"list-type", "2"}, {"prefix", "a b/"}});
  EXPECT_EQ(a.url, "http://127.0.0.1:4568/kiln-test?list-type=2&prefix=a%20b%2F");
  EXPECT_EQ(a.host, "127.0.0.1:4568");
  EXPECT_EQ(a.canonical_uri, "/kiln-test");

  s.endpoint = "minio.internal:9000";
  EXPECT_EQ(AddressOf(s, "b", "x/y").url, "https://minio.internal:9000/b/x/y");
  s.endpoint = "ftp://host";
  EXPECT_THROW(AddressOf(s, "b", "k"), ObjectStoreError);
}

TEST(S3XmlTest, ListObjectsV2PageGivesKeysSizesAndTheNextToken) {
  const S3ListPage page = ParseListObjectsV2(
      R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>
<Contents><Key>a&amp;b.parquet</Key><Size>12</Size><ETag>&quot;e1&quot;</ETag></Contents>
<Contents><Key>c.csv</Key><Size>3</Size><ETag>"e2"</ETag></Contents>
<IsTruncated>true</IsTruncated><NextContinuationToken>tok/1=</NextContinuationToken>
</ListBucketResult>)",
      "list s3://b");
  ASSERT_EQ(page.objects.size(), 2u);
  EXPECT_EQ(page.objects[0].key, "a&b.parquet");
  EXPECT_EQ(page.objects[0].size, 12u);
  EXPECT_EQ(page.objects[0].version, "\"e1\"");
  EXPECT_TRUE(page.truncated);
  EXPECT_EQ(page.next_token, "tok/1=");
  EXPECT_THROW(ParseListObjectsV2("<Error/>", "list s3://b"), ObjectStoreError);
}

TEST(S3XmlTest, ErrorBodiesAndMultipartDocuments) {
  const auto error = ParseS3Error(
      "<Error><Code>PermanentRedirect</Code><Message>use the right endpoint</Message>"
      "<Region>eu-west-2</Region></Error>");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "PermanentRedirect");
  EXPECT_EQ(error->region, "eu-west-2");
  EXPECT_FALSE(ParseS3Error("<CompleteMultipartUploadResult/>"));
  EXPECT_FALSE(ParseS3Error(""));
  EXPECT_EQ(ParseInitiateMultipartUpload("<InitiateMultipartUploadResult><UploadId>u-1</UploadId>"
                                         "</InitiateMultipartUploadResult>",
                                         "upload"),
            "u-1");
  EXPECT_EQ(CompleteMultipartUploadXml({{1, "\"a\""}, {2, "\"b\""}}),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"a\"</ETag>"
            "</Part><Part><PartNumber>2</PartNumber><ETag>\"b\"</ETag></Part>"
            "</CompleteMultipartUpload>");
}

}  // namespace
}  // namespace kiln::connectors
