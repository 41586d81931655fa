// SigV4 signing of S3 requests, against AWS's published S3 examples ("Signature Calculations
// for the Authorization Header", GET Object and PUT Object) and against botocore 1.29.27
// (Debian's python3-botocore; values computed once with a pinned clock, see the test).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kiln/connectors/crypto/digest.h"
#include "kiln/connectors/s3/sigv4.h"

namespace kiln::connectors {
namespace {

using ::testing::HasSubstr;

// 2013-05-24T00:00:00Z, the date of AWS's examples.
const std::chrono::system_clock::time_point kExampleTime =
    std::chrono::system_clock::from_time_t(1369353600);

SigV4Credentials Example(const std::string& region = "us-east-1") {
  SigV4Credentials c;
  c.access_key_id = "AKIAIOSFODNN7EXAMPLE";
  c.secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  c.region = region;
  return c;
}

TEST(SigV4Test, GetObjectMatchesAwssPublishedExample) {
  SigV4Request r;
  r.method = "GET";
  r.host = "examplebucket.s3.amazonaws.com";
  r.canonical_uri = "/test.txt";
  r.headers["range"] = "bytes=0-9";
  r.payload_sha256 = Hex(Sha256(""));
  EXPECT_EQ(SignV4(r, Example(), kExampleTime),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(r.headers["x-amz-date"], "20130524T000000Z");
}

TEST(SigV4Test, PutObjectMatchesAwssPublishedExample) {
  SigV4Request r;
  r.method = "PUT";
  r.host = "examplebucket.s3.amazonaws.com";
  r.canonical_uri = "/" + UriEncode("test$file.text", false);
  r.headers["date"] = "Fri, 24 May 2013 00:00:00 GMT";
  r.headers["x-amz-storage-class"] = "REDUCED_REDUNDANCY";
  r.payload_sha256 = Hex(Sha256("Welcome to Amazon S3."));
  EXPECT_EQ(r.canonical_uri, "/test%24file.text");
  EXPECT_THAT(
      SignV4(r, Example(), kExampleTime),
      HasSubstr("Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"));
}

TEST(SigV4Test, ListWithAnEncodedPrefixAndASessionTokenMatchesBotocore) {
  // botocore: S3SigV4Auth(Credentials(key, secret, "FQoGZXIvYXdzEXAMPLE"), "s3", "eu-west-1")
  // on GET http://127.0.0.1:4568/de-zoomcamp?list-type=2&prefix=nyc%20taxi%2F2021&max-keys=1000
  SigV4Request r;
  r.method = "GET";
  r.host = "127.0.0.1:4568";
  r.canonical_uri = "/de-zoomcamp";
  r.query = {{"list-type", "2"}, {"prefix", "nyc taxi/2021"}, {"max-keys", "1000"}};
  r.payload_sha256 = Hex(Sha256(""));
  SigV4Credentials c = Example("eu-west-1");
  c.session_token = "FQoGZXIvYXdzEXAMPLE";
  EXPECT_EQ(SignV4(r, c, kExampleTime),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/eu-west-1/s3/aws4_request, "
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, "
            "Signature=5543fed43a95197b4332a2f42cd9eee17529c04a5df8752599826b8a6a1c4465");
  EXPECT_EQ(r.headers["x-amz-security-token"], "FQoGZXIvYXdzEXAMPLE");
  EXPECT_THAT(CanonicalRequest(r),
              HasSubstr("\nlist-type=2&max-keys=1000&prefix=nyc%20taxi%2F2021\n"));
}

TEST(SigV4Test, UriEncodingKeepsOnlyUnreservedCharactersAndSlashesOfPaths) {
  EXPECT_EQ(UriEncode("nyc taxi/2021-01/a_b.~", false), "nyc%20taxi/2021-01/a_b.~");
  EXPECT_EQ(UriEncode("a/b+c=d", true), "a%2Fb%2Bc%3Dd");
  EXPECT_EQ(UriEncode("zürich", false), "z%C3%BCrich");
}

}  // namespace
}  // namespace kiln::connectors
