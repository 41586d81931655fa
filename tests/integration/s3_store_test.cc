// The S3 store against a real, independent S3 server: s3rver 3.7.1 on loopback
// (support/s3rver_server.h; header SigV4 signatures checked with AWS's signer), and our SigV4
// Authorization headers against botocore's S3SigV4Auth for the same requests and clock.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>

#include "kiln/connectors/cloud/open.h"
#include "kiln/connectors/s3/s3_client.h"
#include "kiln/connectors/s3/s3_store.h"
#include "kiln/connectors/s3/s3_xml.h"
#include "support/process.h"
#include "support/s3rver_server.h"
#include "support/temp_dir.h"

namespace kiln::connectors {
namespace {

using kiln::testing::S3rverServer;
using kiln::testing::Slurp;
using kiln::testing::TempDir;
using Kind = ObjectStoreError::Kind;
constexpr const char* kBucket = "kiln-test";

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 random(seed);
  std::string bytes(n, '\0');
  for (char& c : bytes) c = static_cast<char>(random() & 0xff);
  return bytes;
}

class S3AgainstS3rver : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (S3rverServer::Unavailable()) return;
    server_ = new S3rverServer({kBucket});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (auto why = S3rverServer::Unavailable()) GTEST_SKIP() << *why;
  }

  //! The settings io_config.yaml would give for s3rver, completed as the store's factory does.
  static S3Settings Settings(const std::string& secret = "S3RVER") {
    S3Settings s;
    s.access_key_id = server_->access_key_id();
    s.secret_access_key = secret;
    s.endpoint = server_->endpoint();
    s.origin = "io_config.yaml profile 'default'";
    return ResolveS3Settings(s, Environment::FromMap({}), "/nonexistent");
  }
  std::unique_ptr<S3ObjectStore> Store(S3StoreOptions options = {},
                                       const std::string& secret = "S3RVER") {
    HttpOptions http;
    http.retry.max_attempts = 1;
    http.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mutex_);
      log_.push_back(line);
    };
    return std::make_unique<S3ObjectStore>(Settings(secret), http, options);
  }
  std::string Download(ObjectStore& store, const std::string& key) {
    const auto dest = temp_.path() / "download.bin";
    store.Download(kBucket, key, dest);
    return Slurp(dest);
  }

  static S3rverServer* server_;
  TempDir temp_;
  std::mutex log_mutex_;
  std::vector<std::string> log_;
};
S3rverServer* S3AgainstS3rver::server_ = nullptr;

TEST_F(S3AgainstS3rver, PutThenGetReturnsSameBytes) {
  auto store = Store();
  const std::string bytes = RandomBytes(1 << 20, 1);
  const std::string key = "put/2021/01/01/daily trips+ü.parquet";
  const ObjectInfo put = store->Upload(temp_.Write("in.bin", bytes), kBucket, key, {});
  EXPECT_EQ(put.key, key);
  EXPECT_EQ(put.size, bytes.size());
  EXPECT_EQ(Download(*store, key), bytes);
  const std::optional<ObjectInfo> stat = store->Stat(kBucket, key);
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->size, bytes.size());
  EXPECT_EQ(stat->version, put.version);
  // Bytes written through a writer read back alike (one PutObject under the limit).
  UploadOptions csv;
  csv.content_type = "text/csv";
  auto writer = store->OpenWriter(kBucket, "put/writer.csv", csv);
  writer->Write("a,b\n");
  writer->Write("1,2\n");
  EXPECT_EQ(writer->Commit().size, 8u);
  EXPECT_EQ(Download(*store, "put/writer.csv"), "a,b\n1,2\n");
}

TEST_F(S3AgainstS3rver, MultipartUploadOfTwelveMiBReadsBackWhole) {
  auto store = Store();
  const std::string bytes = RandomBytes(12 << 20, 2);
  UploadOptions options;
  options.part_size = 5 << 20;  // 5 + 5 + 2 MiB
  const ObjectInfo put =
      store->Upload(temp_.Write("big.bin", bytes), kBucket, "multi/big.bin", options);
  EXPECT_EQ(put.size, bytes.size());
  // Three parts were sent (s3rver logs one line per request).
  const std::string log = server_->Log();
  size_t parts = 0;
  for (size_t at = log.find("multi/big.bin?partNumber="); at != std::string::npos;
       at = log.find("multi/big.bin?partNumber=", at + 1))
    ++parts;
  EXPECT_EQ(parts, 3u) << log;
  EXPECT_EQ(Download(*store, "multi/big.bin"), bytes);
  EXPECT_EQ(store->Stat(kBucket, "multi/big.bin")->size, bytes.size());
}

TEST_F(S3AgainstS3rver, ListPagesPastMaxKeys) {
  S3StoreOptions paged;
  paged.max_keys = 2;
  auto store = Store(paged);
  for (const char* key : {"list/e", "list/a", "list/c", "list/d", "list/b", "listless"})
    store->Upload(temp_.Write("x", key), kBucket, key, {});
  std::vector<std::string> keys;
  for (const ObjectInfo& info : store->List(kBucket, "list/")) keys.push_back(info.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"list/a", "list/b", "list/c", "list/d", "list/e"}));
  EXPECT_NE(server_->Log().find("continuation-token="), std::string::npos) << "pages were followed";
  EXPECT_TRUE(store->List(kBucket, "nothing-here/").empty());
}

TEST_F(S3AgainstS3rver, OverwriteReplacesTheObject) {
  auto store = Store();
  const ObjectInfo first = store->Upload(temp_.Write("v1", "first"), kBucket, "over/k", {});
  const ObjectInfo second =
      store->Upload(temp_.Write("v2", "the second version"), kBucket, "over/k", {});
  EXPECT_NE(first.version, second.version);
  EXPECT_EQ(Download(*store, "over/k"), "the second version");
  const auto listed = store->List(kBucket, "over/");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].size, 18u);
  store->Delete(kBucket, "over/k");
  EXPECT_FALSE(store->Stat(kBucket, "over/k"));
  store->Delete(kBucket, "over/k");  // a missing key is not an error
}

TEST_F(S3AgainstS3rver, MissingBucketErrorNamesTheBucket) {
  auto store = Store();
  try {
    store->Upload(temp_.Write("x", "x"), "no-such-bucket", "nyc_taxi_data.parquet", {});
    FAIL() << "expected an ObjectStoreError";
  } catch (const ObjectStoreError& e) {
    EXPECT_EQ(e.kind(), Kind::kNoSuchBucket);
    EXPECT_EQ(std::string(e.what()).rfind("upload s3://no-such-bucket/nyc_taxi_data.parquet "
                                          "failed: bucket 'no-such-bucket' does not exist",
                                          0),
              0u)
        << e.what();
  }
  try {
    store->Stat("no-such-bucket", "k");
    FAIL() << "expected an ObjectStoreError";
  } catch (const ObjectStoreError& e) {
    EXPECT_EQ(e.kind(), Kind::kNoSuchBucket) << e.what();
    EXPECT_NE(std::string(e.what()).find("bucket 'no-such-bucket' does not exist"),
              std::string::npos);
  }
}

TEST_F(S3AgainstS3rver, MissingKeyErrorNamesBucketAndKey) {
  auto store = Store();
  const auto dest = temp_.path() / "never.bin";
  try {
    store->Download(kBucket, "missing/k.parquet", dest);
    FAIL() << "expected an ObjectStoreError";
  } catch (const ObjectStoreError& e) {
    EXPECT_EQ(e.kind(), Kind::kNoSuchObject);
    EXPECT_STREQ(e.what(),
                 "download s3://kiln-test/missing/k.parquet failed: no object "
                 "'missing/k.parquet' in bucket 'kiln-test'");
  }
  EXPECT_TRUE(std::filesystem::is_empty(temp_.path())) << "no partial download is left";
  EXPECT_FALSE(store->Stat(kBucket, "missing/k.parquet"));
}

TEST_F(S3AgainstS3rver, WrongSecretIsRejectedAsSignatureMismatch) {
  const std::string secret = "not-the-secret-4242";
  auto store = Store({}, secret);
  try {
    store->Upload(temp_.Write("x", "x"), kBucket, "auth/k", {});
    FAIL() << "expected an ObjectStoreError";
  } catch (const ObjectStoreError& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.kind(), Kind::kAuthentication) << what;
    EXPECT_NE(what.find("upload s3://kiln-test/auth/k failed"), std::string::npos) << what;
    EXPECT_NE(what.find("SignatureDoesNotMatch"), std::string::npos) << what;
    EXPECT_NE(what.find("access key id S3RVER"), std::string::npos) << what;
    EXPECT_NE(what.find("check AWS_SECRET_ACCESS_KEY of io_config.yaml profile 'default'"),
              std::string::npos)
        << what;
    EXPECT_EQ(what.find(secret), std::string::npos) << "the secret is never printed";
  }
  EXPECT_FALSE(Store()->Stat(kBucket, "auth/k"));
}

TEST_F(S3AgainstS3rver, InterruptedMultipartUploadLeavesNoObject) {
  auto store = Store();
  std::atomic<bool> cancel{false};
  UploadOptions options;
  options.single_request_limit = 5 << 20;
  options.part_size = 5 << 20;
  options.cancelled = [&] { return cancel.load(); };
  {
    auto writer = store->OpenWriter(kBucket, "cut/object.bin", options);
    writer->Write(RandomBytes(6 << 20, 3));  // initiates the upload and sends part 1
    cancel = true;
    try {
      writer->Write(RandomBytes(6 << 20, 4));
      FAIL() << "expected a cancellation";
    } catch (const ObjectStoreError& e) {
      EXPECT_EQ(e.kind(), Kind::kCancelled) << e.what();
    }
  }  // the writer aborts the upload; s3rver 3.7.1 answers the abort MethodNotAllowed
  EXPECT_FALSE(store->Stat(kBucket, "cut/object.bin"));
  EXPECT_TRUE(store->List(kBucket, "cut/").empty());
  std::lock_guard<std::mutex> lock(log_mutex_);
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_NE(log_[0].find("warning: abort of the multipart upload"), std::string::npos) << log_[0];
  EXPECT_NE(log_[0].find("MethodNotAllowed"), std::string::npos) << log_[0];
}

// `kiln run` reaches S3 through OpenObjectStore with the io_config.yaml profile's keys and
// AWS_ENDPOINT (as Mage's S3.with_config passes them to boto3).
TEST_F(S3AgainstS3rver, OpenObjectStoreServesS3WithTheProfilesKeysAndEndpoint) {
  const config::IoProfile profile("io_config.yaml", "default",
                                  {{"AWS_ACCESS_KEY_ID", "S3RVER"},
                                   {"AWS_SECRET_ACCESS_KEY", "S3RVER"},
                                   {"AWS_ENDPOINT", server_->endpoint()}});
  CloudServices services;  // not local: the real store
  std::unique_ptr<ObjectStore> store =
      OpenObjectStore("s3", S3SettingsFromProfile(profile), services);
  EXPECT_EQ(store->scheme(), "s3");
  store->Upload(temp_.Write("x", "opened"), kBucket, "open/k.csv", {});
  EXPECT_EQ(Download(*store, "open/k.csv"), "opened");
  EXPECT_THROW(OpenObjectStore("s3", GoogleAuth{}, services), config::ConfigError);
}

// Our Authorization headers equal botocore's S3SigV4Auth (python3-botocore) for the requests
// the store sends: a PutObject with a content type, the three multipart calls, and a paged
// list with an encoded prefix, once with a session token. Same keys, region and clock.
TEST(SigV4Test, MatchesBotocoreForPutMultipartAndList) {
  const auto now = std::chrono::sys_days{std::chrono::year{2024} / 1 / 2} + std::chrono::hours{3} +
                   std::chrono::minutes{4} + std::chrono::seconds{5};
  S3Settings settings;
  settings.access_key_id = "AKIDEXAMPLE";
  settings.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  settings.region = "eu-west-2";
  settings.endpoint = "http://127.0.0.1:4568";
  std::vector<S3Call> calls;
  calls.push_back(MakeS3Call("PUT", "kiln-test", "2021/01/01/daily trips.parquet"));
  calls.back().body = "PAR1 bytes";
  calls.back().content_type = "application/octet-stream";
  calls.push_back(MakeS3Call("POST", "kiln-test", "big/a+b=c.bin", {{"uploads", ""}}));
  calls.push_back(MakeS3Call("PUT", "kiln-test", "big/a+b=c.bin",
                             {{"partNumber", "2"}, {"uploadId", "VXBsb2FkIElE/+="}}));
  calls.back().body = "part two";
  calls.push_back(
      MakeS3Call("POST", "kiln-test", "big/a+b=c.bin", {{"uploadId", "VXBsb2FkIElE/+="}}));
  calls.back().body = CompleteMultipartUploadXml({{1, "\"e1\""}, {2, "\"e2\""}});
  calls.back().content_type = "application/xml";
  calls.push_back(MakeS3Call("GET", "kiln-test", "",
                             {{"list-type", "2"},
                              {"max-keys", "1000"},
                              {"prefix", "nyc taxi/ü"},
                              {"continuation-token", "1/ab+c=="}}));
  nlohmann::json cases = nlohmann::json::array();
  std::vector<std::string> ours;
  for (int with_token = 0; with_token < 2; ++with_token) {
    settings.session_token = with_token ? "FQoGZXIvYXdzEXAMPLE//token=" : "";
    for (const S3Call& call : calls) {
      const HttpRequest request = SignS3Call(settings, call, now);
      ours.push_back(request.headers.Get("authorization").value_or(""));
      nlohmann::json query = nlohmann::json::array();
      for (const auto& [name, value] : call.query) query.push_back({name, value});
      cases.push_back({{"method", call.method},
                       {"bucket", call.bucket},
                       {"key", call.key},
                       {"query", query},
                       {"body", call.body},
                       {"content_type", call.content_type},
                       {"token", settings.session_token}});
    }
  }
  // botocore builds the URL as boto3's S3 serializer does (key quoted with safe '/~'), encodes
  // the query itself, hashes the body (http:// endpoints always sign the payload) and signs.
  const std::string script = R"(
import datetime, json, sys
from unittest import mock
from urllib.parse import quote
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
spec = json.load(sys.stdin)
out = []
for c in spec["cases"]:
    url = spec["endpoint"] + "/" + c["bucket"]
    if c["key"]:
        url += "/" + quote(c["key"], safe="/~")
    headers = {"Content-Type": c["content_type"]} if c["content_type"] else {}
    req = AWSRequest(method=c["method"], url=url, data=c["body"].encode(), headers=headers,
                     params=[tuple(p) for p in c["query"]])
    creds = Credentials(spec["key"], spec["secret"], c["token"] or None)
    with mock.patch("botocore.auth.datetime") as dt:
        dt.datetime.utcnow.return_value = datetime.datetime(2024, 1, 2, 3, 4, 5)
        S3SigV4Auth(creds, "s3", spec["region"]).add_auth(req)
    out.append(req.headers["Authorization"])
print(json.dumps(out))
)";
  TempDir temp;
  const nlohmann::json spec = {{"endpoint", settings.endpoint},
                               {"key", settings.access_key_id},
                               {"secret", settings.secret_access_key},
                               {"region", settings.region},
                               {"cases", cases}};
  const auto script_path = temp.Write("botocore_sign.py", script);
  const auto input = temp.Write("spec.json", spec.dump());
  const kiln::testing::ProcessResult r =
      kiln::testing::RunProcess({"/bin/sh", "-c", "exec /usr/bin/python3 \"$0\" < \"$1\"",
                                 script_path.string(), input.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n(python3-botocore is installed by scripts/setup.sh)";
  const std::vector<std::string> theirs = nlohmann::json::parse(r.out);
  ASSERT_EQ(theirs.size(), ours.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_EQ(ours[i], theirs[i]) << "request " << i << ": " << cases[i].dump();
  }
}

}  // namespace
}  // namespace kiln::connectors
