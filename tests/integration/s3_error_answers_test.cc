// The S3 store's handling of answers s3rver never gives, from a cpp-httplib server on loopback
// that answers as AWS documents: a CompleteMultipartUpload answered 200 with an <Error> body
// (a failure: the upload is aborted), a 301 PermanentRedirect naming the bucket's region, a 403
// AccessDenied, and a 503 that passes on retry.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <thread>

#include "kiln/connectors/s3/s3_store.h"
#include "support/httplib.h"
#include "support/temp_dir.h"

namespace kiln::connectors {
namespace {

using kiln::testing::TempDir;
using Kind = ObjectStoreError::Kind;

class S3ErrorAnswersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }
  std::unique_ptr<S3ObjectStore> Store() {
    S3Settings s;
    s.access_key_id = "AKIDTEST";
    s.secret_access_key = "secret-never-printed";
    s.endpoint = "http://127.0.0.1:" + std::to_string(port_);
    s.origin = "io_config.yaml profile 'default'";
    HttpOptions http;
    http.retry.initial_backoff = std::chrono::milliseconds(10);
    http.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mutex_);
      log_.push_back(line);
    };
    return std::make_unique<S3ObjectStore>(
        ResolveS3Settings(s, Environment::FromMap({}), "/nonexistent"), http);
  }
  void Record(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string line = req.method + " " + req.path;
    for (const auto& [name, value] : req.params) line += " " + name + "=" + value;
    requests_.push_back(line);
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  TempDir temp_;
  std::mutex mutex_;
  std::vector<std::string> requests_, log_;
  std::string complete_body_;
};

TEST_F(S3ErrorAnswersTest, CompleteAnsweredWithErrorIn200IsAFailureAndTheUploadIsAborted) {
  server_.Post("/b/big.bin", [this](const httplib::Request& req, httplib::Response& res) {
    Record(req);
    if (req.has_param("uploads")) {
      res.set_content(
          "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>big.bin</Key>"
          "<UploadId>up-1</UploadId></InitiateMultipartUploadResult>",
          "application/xml");
    } else {  // AWS: "a 200 OK response can contain either a success or an error"
      complete_body_ = req.body;
      res.set_content(
          "<?xml version=\"1.0\"?>\n<Error><Code>InternalError</Code><Message>We encountered an "
          "internal error. Please try again.</Message></Error>",
          "application/xml");
    }
  });
  server_.Put("/b/big.bin", [this](const httplib::Request& req, httplib::Response& res) {
    Record(req);
    res.set_header("ETag", "\"part-" + req.get_param_value("partNumber") + "\"");
  });
  server_.Delete("/b/big.bin", [this](const httplib::Request& req, httplib::Response& res) {
    Record(req);
    res.status = 204;
  });
  UploadOptions options;
  options.single_request_limit = 1;
  options.part_size = 5 << 20;
  const auto file = temp_.Write("big.bin", std::string((6 << 20) + 7, 'x'));
  try {
    Store()->Upload(file, "b", "big.bin", options);
    FAIL() << "expected an ObjectStoreError";
  } catch (const ObjectStoreError& e) {
    EXPECT_EQ(e.kind(), Kind::kOther);
    EXPECT_STREQ(e.what(),
                 "upload s3://b/big.bin failed: S3 200 InternalError: We encountered an internal "
                 "error. Please try again.");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  ASSERT_EQ(requests_.size(), 5u);
  std::sort(requests_.begin() + 1, requests_.begin() + 3);  // parts go in parallel
  EXPECT_EQ(requests_, (std::vector<std::string>{
                           "POST /b/big.bin uploads=", "PUT /b/big.bin partNumber=1 uploadId=up-1",
                           "PUT /b/big.bin partNumber=2 uploadId=up-1",
                           "POST /b/big.bin uploadId=up-1", "DELETE /b/big.bin uploadId=up-1"}));
  EXPECT_EQ(complete_body_,
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"part-1\"</ETag>"
            "</Part><Part><PartNumber>2</PartNumber><ETag>\"part-2\"</ETag></Part>"
            "</CompleteMultipartUpload>");
  EXPECT_TRUE(log_.empty()) << log_[0];
}

TEST_F(S3ErrorAnswersTest, PermanentRedirectNamesTheBucketsRegion) {
  server_.Put("/b/k", [](const httplib::Request&, httplib::Response& res) {
    res.status = 301;
    res.set_header("x-amz-bucket-region", "eu-west-2");
    res.set_content(
        "<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access "
        "must be addressed using the specified endpoint.</Message></Error>",
        "application/xml");
  });
  try {
    Store()->Upload(temp_.Write("k", "x"), "b", "k", {});
    FAIL() << "expected an ObjectStoreError";
  } catch (const ObjectStoreError& e) {
    EXPECT_STREQ(e.what(),
                 "upload s3://b/k failed: bucket 'b' is in region eu-west-2 (header "
                 "x-amz-bucket-region); set AWS_REGION: eu-west-2 in io_config.yaml profile "
                 "'default'");
  }
}

TEST_F(S3ErrorAnswersTest, AccessDeniedNamesBucketKeyAndAccessKeyIdNeverTheSecret) {
  server_.Get("/b/private/k.csv", [](const httplib::Request&, httplib::Response& res) {
    res.status = 403;
    res.set_content("<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
                    "application/xml");
  });
  try {
    Store()->Download("b", "private/k.csv", temp_.path() / "k.csv");
    FAIL() << "expected an ObjectStoreError";
  } catch (const ObjectStoreError& e) {
    EXPECT_EQ(e.kind(), Kind::kAccessDenied);
    EXPECT_STREQ(e.what(),
                 "download s3://b/private/k.csv failed: access denied to access key id AKIDTEST "
                 "on bucket 'b', key 'private/k.csv' (S3 403 AccessDenied: Access Denied): check "
                 "the key's permissions and AWS_SECRET_ACCESS_KEY of io_config.yaml profile "
                 "'default'");
  }
  EXPECT_FALSE(std::filesystem::exists(temp_.path() / "k.csv"));
}

TEST_F(S3ErrorAnswersTest, ServiceUnavailableIsRetriedWithAWarning) {
  int answers = 0;
  server_.Put("/b/k", [&](const httplib::Request& req, httplib::Response& res) {
    if (answers++ == 0) {
      res.status = 503;
      res.set_content(
          "<Error><Code>SlowDown</Code><Message>Reduce your request rate."
          "</Message></Error>",
          "application/xml");
      return;
    }
    EXPECT_EQ(req.body, "bytes");
    res.set_header("ETag", "\"e\"");
  });
  const ObjectInfo info = Store()->Upload(temp_.Write("k", "bytes"), "b", "k", {});
  EXPECT_EQ(info.version, "\"e\"");
  EXPECT_EQ(answers, 2);
  std::lock_guard<std::mutex> lock(mutex_);
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_NE(log_[0].find("warning: PUT "), std::string::npos) << log_[0];
}

}  // namespace
}  // namespace kiln::connectors
