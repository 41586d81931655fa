// Contract tests of the GCS store and Google token exchange: GcsObjectStore against
// support/fake_google_apis, a loopback server written from Google's documentation (the OAuth 2.0
// server-to-server flow and the Cloud Storage JSON API). No Google service is called; these
// prove Kiln speaks the documented protocol, a live run proves the documentation was read right.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "kiln/connectors/cloud/open.h"
#include "kiln/connectors/gcs/gcs_store.h"
#include "kiln/connectors/google/token_cache.h"
#include "support/fake_google_apis.h"

namespace kiln::connectors {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using Fake = kiln::testing::FakeGoogleApis;
using Op = Fake::Op;

constexpr char kEmail[] = "mage@de-zoomcamp-412301.iam.gserviceaccount.com";
constexpr char kBucket[] = "mage-zoomcamp-evident-display-410312";
constexpr uint64_t kKiB = 1024;

//! An RSA-2048 pair made for the test: the private half in the key JSON, the public half given
//! to the fake token endpoint.
struct KeyPair {
  KeyPair() {
    EVP_PKEY* key = EVP_RSA_gen(2048);
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    private_pem.assign(data, static_cast<size_t>(size));
    BIO_free(bio);
    bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, key);
    size = BIO_get_mem_data(bio, &data);
    public_pem.assign(data, static_cast<size_t>(size));
    BIO_free(bio);
    EVP_PKEY_free(key);
  }
  std::string private_pem, public_pem;
};

std::string Bytes(size_t size, unsigned seed = 1) {
  std::string bytes(size, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : bytes) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return bytes;
}

class GcsContractTest : public ::testing::Test {
 protected:
  GcsContractTest() : fake_(FakeOptions()) {
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    fake_.CreateBucket(kBucket);
    dir_ = fs::temp_directory_path() /
           ("kiln_gcs_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    http_.retry.initial_backoff = 5ms;
    http_.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> guard(mutex_);
      log_.push_back(line);
    };
  }
  ~GcsContractTest() override { fs::remove_all(dir_); }

  //! The fake's options: it knows the test key's public half and account.
  Fake::Options FakeOptions(int expires_in = 3600, int max_page = 1000) const {
    Fake::Options options;
    options.public_key_pem = keys_.public_pem;
    options.client_email = kEmail;
    options.expires_in = expires_in;
    options.max_page = max_page;
    return options;
  }
  nlohmann::json KeyJson() const {
    return {{"type", "service_account"}, {"project_id", "de-zoomcamp-412301"},
            {"private_key_id", "k1"},    {"private_key", keys_.private_pem},
            {"client_email", kEmail},    {"token_uri", fake_.token_uri()}};
  }
  GoogleCredentials Credentials() const {
    return ParseGoogleCredentials(KeyJson(),
                                  "io_config.yaml profile 'default' GOOGLE_SERVICE_ACC_KEY");
  }
  GcsObjectStore Store() { return GcsObjectStore(fake_.base_url(), Credentials(), tokens_, http_); }
  fs::path WriteFile(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_ / name, std::ios::binary) << bytes;
    return dir_ / name;
  }
  //! Small limits so a 1.1 MiB file takes the resumable path in 256 KiB chunks.
  static UploadOptions Resumable(uint64_t part = 256 * kKiB) {
    UploadOptions options;
    options.single_request_limit = 512 * kKiB;
    options.part_size = part;
    return options;
  }
  std::string ErrorOf(const std::function<void()>& call) {
    try {
      call();
    } catch (const ObjectStoreError& e) {
      return e.what();
    }
    return "no error";
  }

  KeyPair keys_;
  Fake fake_;
  fs::path dir_;
  HttpOptions http_;
  std::shared_ptr<GoogleTokenCache> tokens_ = std::make_shared<GoogleTokenCache>();
  std::mutex mutex_;
  std::vector<std::string> log_;
};

TEST_F(GcsContractTest, TokenExchangePostsJwtBearerGrantToTokenUri) {
  GcsObjectStore store = Store();
  store.Upload(WriteFile("a.parquet", "PAR1"), kBucket, "a.parquet", {});
  ASSERT_EQ(fake_.Requests(Op::kToken).size(), 1u);
  EXPECT_EQ(fake_.Requests(Op::kToken)[0].content_type, "application/x-www-form-urlencoded");
  // The fake verified the assertion with the key's public half and checked iss, aud and scope.
  EXPECT_EQ(fake_.tokens_issued(), 1);
  EXPECT_EQ(fake_.Requests(Op::kMediaUpload)[0].authorization, "Bearer ya29.fake-1");
  EXPECT_THAT(fake_.violations(), ::testing::IsEmpty());
}

TEST_F(GcsContractTest, TokenIsReusedUntilExpiryThenRefreshed) {
  Fake short_lived(FakeOptions(/*expires_in=*/61));  // 1 s before the 60 s margin
  std::atomic<int> skew_s = 0;
  GoogleTokenCache cache(
      [&] { return std::chrono::system_clock::now() + std::chrono::seconds(skew_s); });
  nlohmann::json key = KeyJson();
  key["token_uri"] = short_lived.token_uri();
  GoogleCredentials credentials = ParseGoogleCredentials(key, "key");
  EXPECT_EQ(cache.Token(credentials, http_), "ya29.fake-1");
  EXPECT_EQ(cache.Token(credentials, http_), "ya29.fake-1");  // cached
  skew_s = 2;
  EXPECT_EQ(cache.Token(credentials, http_), "ya29.fake-2");  // within 60 s of expiry: renewed
  EXPECT_EQ(short_lived.tokens_issued(), 2);
}

TEST_F(GcsContractTest, AuthorizedUserExchangesItsRefreshToken) {
  Fake::Options options = FakeOptions();
  options.refresh_token = "1//0g-refresh";
  Fake fake(options);
  fake.CreateBucket(kBucket);
  nlohmann::json adc = {{"type", "authorized_user"},
                        {"client_id", "764086051850.apps.googleusercontent.com"},
                        {"client_secret", "d-FL95Q19q7"},
                        {"refresh_token", "1//0g-refresh"},
                        {"token_uri", fake.token_uri()}};
  GcsObjectStore store(fake.base_url(), ParseGoogleCredentials(adc, "gcloud credentials"), tokens_,
                       http_);
  EXPECT_EQ(store.Stat(kBucket, "k"), std::nullopt);
  EXPECT_EQ(fake.tokens_issued(), 1);
  EXPECT_THAT(fake.violations(), ::testing::IsEmpty());

  adc["refresh_token"] = "1//0g-revoked";
  GcsObjectStore revoked(fake.base_url(), ParseGoogleCredentials(adc, "gcloud credentials"),
                         tokens_, http_);
  EXPECT_THAT(ErrorOf([&] { revoked.Stat(kBucket, "k"); }),
              HasSubstr("gcloud credentials: Google rejected the user credentials (invalid_grant: "
                        "Bad Request): the refresh token was revoked or expired"));
}

TEST_F(GcsContractTest, ConcurrentCallersShareOneTokenExchange) {
  GoogleCredentials credentials = Credentials();
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] { EXPECT_EQ(tokens_->Token(credentials, http_), "ya29.fake-1"); });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(fake_.tokens_issued(), 1);
}

TEST_F(GcsContractTest, Unauthorized401RefreshesTokenOnce) {
  GcsObjectStore store = Store();
  fake_.PutObject(kBucket, "k", "v1");
  ASSERT_TRUE(store.Stat(kBucket, "k"));
  fake_.RevokeTokens();  // expired or revoked: GCS answers 401
  ASSERT_TRUE(store.Stat(kBucket, "k"));
  EXPECT_EQ(fake_.tokens_issued(), 2);
  auto gets = fake_.Requests(Op::kObjectGet);
  ASSERT_EQ(gets.size(), 3u);
  EXPECT_EQ(gets[1].status, 401);
  EXPECT_EQ(gets[2].authorization, "Bearer ya29.fake-2");

  fake_.Inject(Fake::Fault::Status(Op::kObjectGet, 401, 2));
  EXPECT_THAT(ErrorOf([&] { store.Stat(kBucket, "k"); }),
              HasSubstr("stat gs://" + std::string(kBucket) +
                        "/k failed: Google rejected the token of io_config.yaml profile 'default' "
                        "GOOGLE_SERVICE_ACC_KEY (" +
                        kEmail + ")"));
}

TEST_F(GcsContractTest, RejectedKeySaysItWasDeletedOrRotated) {
  KeyPair other;  // the fake knows another public key: as after the key was deleted
  nlohmann::json key = KeyJson();
  key["private_key"] = other.private_pem;
  GcsObjectStore store(fake_.base_url(), ParseGoogleCredentials(key, "key file /home/src/x.json"),
                       tokens_, http_);
  const std::string error = ErrorOf([&] { store.Stat(kBucket, "k"); });
  EXPECT_THAT(error, HasSubstr("stat gs://" + std::string(kBucket) +
                               "/k failed: key file /home/src/x.json: Google rejected the service "
                               "account key (invalid_grant: Invalid JWT Signature.): the key was "
                               "deleted or rotated"));
  EXPECT_THAT(error, ::testing::Not(HasSubstr("PRIVATE KEY")));
}

TEST_F(GcsContractTest, SmallObjectIsOneMediaUploadWithEncodedName) {
  const std::string bytes = Bytes(100 * kKiB);
  ObjectInfo info =
      Store().Upload(WriteFile("d.parquet", bytes), kBucket, "2021/01/01/daily-trips.parquet", {});
  auto uploads = fake_.Requests(Op::kMediaUpload);
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_THAT(uploads[0].target,
              HasSubstr("uploadType=media&name=2021%2F01%2F01%2Fdaily-trips.parquet"));
  EXPECT_EQ(uploads[0].content_type, "application/octet-stream");
  EXPECT_TRUE(fake_.Requests(Op::kResumableStart).empty());
  EXPECT_EQ(fake_.Object(kBucket, "2021/01/01/daily-trips.parquet"), bytes);
  EXPECT_EQ(info.key, "2021/01/01/daily-trips.parquet");
  EXPECT_EQ(info.size, bytes.size());
  EXPECT_FALSE(info.version.empty());
  EXPECT_THAT(fake_.violations(), ::testing::IsEmpty());
}

TEST_F(GcsContractTest, LargeObjectUsesResumableChunksOf256KiBMultiples) {
  const std::string bytes = Bytes(1100 * kKiB, 2);
  Store().Upload(WriteFile("big.parquet", bytes), kBucket, "nyc_taxi_data.parquet",
                 Resumable(300 * kKiB));  // rounded down to 256 KiB
  auto start = fake_.Requests(Op::kResumableStart);
  ASSERT_EQ(start.size(), 1u);
  auto chunks = fake_.Requests(Op::kChunk);
  ASSERT_EQ(chunks.size(), 5u);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].body_size, 256 * kKiB);
    EXPECT_EQ(chunks[i].content_range, "bytes " + std::to_string(i * 256 * kKiB) + "-" +
                                           std::to_string((i + 1) * 256 * kKiB - 1) + "/*");
  }
  EXPECT_EQ(chunks.back().content_range, "bytes 1048576-1126399/1126400");
  EXPECT_EQ(chunks.back().status, 200);
  EXPECT_EQ(fake_.Object(kBucket, "nyc_taxi_data.parquet"), bytes);
  EXPECT_THAT(fake_.violations(), ::testing::IsEmpty());
}

TEST_F(GcsContractTest, WriterStreamsChunksAndCommitsLast) {
  GcsObjectStore store = Store();
  const std::string bytes = Bytes(1300 * kKiB, 3);
  auto writer = store.OpenWriter(kBucket, "stream.csv", Resumable());
  for (size_t at = 0; at < bytes.size(); at += 100 * kKiB) {
    writer->Write(std::string_view(bytes).substr(at, 100 * kKiB));
  }
  EXPECT_FALSE(fake_.Object(kBucket, "stream.csv"));  // chunks sent, nothing visible yet
  EXPECT_GE(fake_.Requests(Op::kChunk).size(), 2u);
  ObjectInfo info = writer->Commit();
  EXPECT_EQ(info.size, bytes.size());
  EXPECT_EQ(fake_.Object(kBucket, "stream.csv"), bytes);
  EXPECT_THAT(fake_.violations(), ::testing::IsEmpty());
}

TEST_F(GcsContractTest, ShortRangeIn308ResumesFromServerOffset) {
  const std::string bytes = Bytes(1100 * kKiB, 4);
  fake_.Inject(Fake::Fault::ShortRange(256 * kKiB));  // kept half of a 512 KiB chunk
  Store().Upload(WriteFile("big.parquet", bytes), kBucket, "k.parquet", Resumable(512 * kKiB));
  auto chunks = fake_.Requests(Op::kChunk);
  ASSERT_GE(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].content_range, "bytes 0-524287/*");
  EXPECT_EQ(chunks[0].status, 308);
  EXPECT_EQ(chunks[1].content_range, "bytes 262144-786431/*");  // from the Range, not from 512 KiB
  EXPECT_EQ(fake_.Object(kBucket, "k.parquet"), bytes);
  EXPECT_THAT(fake_.violations(), ::testing::IsEmpty());
}

TEST_F(GcsContractTest, DroppedConnectionQueriesSessionStatusAndResumes) {
  const std::string bytes = Bytes(1100 * kKiB, 5);
  // The second chunk's connection drops after the server stored 256 KiB of its 512 KiB.
  fake_.Inject(Fake::Fault::Drop(Op::kChunk, 256 * kKiB, /*skip=*/1));
  Store().Upload(WriteFile("big.parquet", bytes), kBucket, "k.parquet", Resumable(512 * kKiB));
  auto queries = fake_.Requests(Op::kStatusQuery);
  ASSERT_EQ(queries.size(), 1u);
  EXPECT_EQ(queries[0].content_range, "bytes */1126400");
  EXPECT_EQ(queries[0].body_size, 0u);
  EXPECT_EQ(queries[0].status, 308);
  auto chunks = fake_.Requests(Op::kChunk);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[1].status, 0);                                      // dropped
  EXPECT_EQ(chunks[2].content_range, "bytes 786432-1126399/1126400");  // resumed, never from 0
  EXPECT_EQ(fake_.Object(kBucket, "k.parquet"), bytes);
  EXPECT_THAT(fake_.violations(), ::testing::IsEmpty());
}

TEST_F(GcsContractTest, InterruptedUploadIsDeletedNeverFinalized) {
  GcsObjectStore store = Store();
  {
    auto writer = store.OpenWriter(kBucket, "half.parquet", Resumable());
    writer->Write(Bytes(900 * kKiB));
    EXPECT_GE(fake_.Requests(Op::kChunk).size(), 1u);
  }  // destroyed halfway, without Commit
  auto deletes = fake_.Requests(Op::kSessionDelete);
  ASSERT_EQ(deletes.size(), 1u);
  EXPECT_EQ(deletes[0].status, 499);
  EXPECT_FALSE(fake_.Object(kBucket, "half.parquet"));
  EXPECT_EQ(fake_.open_sessions(), 0);

  // A cancelled file upload: the same.
  UploadOptions options = Resumable();
  const size_t chunks_before = fake_.Requests(Op::kChunk).size();
  options.cancelled = [&] { return fake_.Requests(Op::kChunk).size() >= chunks_before + 2; };
  const std::string error = ErrorOf([&] {
    store.Upload(WriteFile("big", Bytes(1100 * kKiB)), kBucket, "cancelled.parquet", options);
  });
  EXPECT_EQ(error, "upload gs://" + std::string(kBucket) + "/cancelled.parquet failed: cancelled");
  EXPECT_EQ(fake_.Requests(Op::kSessionDelete).size(), 2u);
  EXPECT_FALSE(fake_.Object(kBucket, "cancelled.parquet"));
  EXPECT_EQ(fake_.open_sessions(), 0);
}

TEST_F(GcsContractTest, ExpiredSessionSaysNoObjectWasWritten) {
  fake_.Inject(Fake::Fault::Status(Op::kChunk, 410, 1, "Upload session expired"));
  EXPECT_EQ(ErrorOf([&] {
              Store().Upload(WriteFile("big", Bytes(1100 * kKiB)), kBucket, "k.parquet",
                             Resumable());
            }),
            "upload gs://" + std::string(kBucket) +
                "/k.parquet failed: the resumable upload session expired or was deleted (HTTP 410 "
                "Gone); no object was written");
  EXPECT_FALSE(fake_.Object(kBucket, "k.parquet"));
}

TEST_F(GcsContractTest, DroppedDownloadIsRetriedWhole) {
  const std::string bytes = Bytes(300 * kKiB, 7);
  fake_.PutObject(kBucket, "k", bytes);
  fake_.Inject(Fake::Fault::Drop(Op::kDownload));
  Store().Download(kBucket, "k", dir_ / "k");
  std::ifstream in(dir_ / "k", std::ios::binary);
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_EQ(got.str(), bytes);
  EXPECT_EQ(fake_.Requests(Op::kDownload).size(), 2u);
}

TEST_F(GcsContractTest, DownloadUsesAltMedia) {
  const std::string bytes = Bytes(700 * kKiB, 6);
  fake_.PutObject(kBucket, "nyc_taxi_data.parquet", bytes);
  GcsObjectStore store = Store();
  ObjectInfo info = store.Download(kBucket, "nyc_taxi_data.parquet", dir_ / "out.parquet");
  auto downloads = fake_.Requests(Op::kDownload);
  ASSERT_EQ(downloads.size(), 1u);
  EXPECT_EQ(downloads[0].params.at("alt"), "media");
  std::ifstream in(dir_ / "out.parquet", std::ios::binary);
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_EQ(got.str(), bytes);
  EXPECT_EQ(info.size, bytes.size());
  EXPECT_FALSE(info.version.empty());

  EXPECT_EQ(ErrorOf([&] { store.Download(kBucket, "missing.parquet", dir_ / "m.parquet"); }),
            "download gs://" + std::string(kBucket) +
                "/missing.parquet failed: no object "
                "'missing.parquet' in bucket '" +
                kBucket + "'");
  EXPECT_FALSE(fs::exists(dir_ / "m.parquet"));
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_THAT(entry.path().filename().string(), ::testing::Not(HasSubstr("kiln-tmp")));
  }
}

TEST_F(GcsContractTest, ListFollowsNextPageToken) {
  Fake paged(FakeOptions(3600, /*max_page=*/2));
  paged.CreateBucket(kBucket);
  for (const char* name : {"nyc/d=2021-01-02/b.parquet", "nyc/d=2021-01-01/a.parquet",
                           "nyc/d=2020-12-31/c.parquet", "nyc/x", "nyc/y", "other"}) {
    paged.PutObject(kBucket, name, name);
  }
  nlohmann::json key = KeyJson();
  key["token_uri"] = paged.token_uri();
  GcsObjectStore store(paged.base_url(), ParseGoogleCredentials(key, "key"), tokens_, http_);
  std::vector<ObjectInfo> objects = store.List(kBucket, "nyc/");
  std::vector<std::string> keys;
  for (const ObjectInfo& o : objects) keys.push_back(o.key);
  EXPECT_EQ(keys,
            (std::vector<std::string>{"nyc/d=2020-12-31/c.parquet", "nyc/d=2021-01-01/a.parquet",
                                      "nyc/d=2021-01-02/b.parquet", "nyc/x", "nyc/y"}));
  EXPECT_EQ(objects[0].size, std::string("nyc/d=2020-12-31/c.parquet").size());
  auto lists = paged.Requests(Op::kList);
  ASSERT_EQ(lists.size(), 3u);
  EXPECT_EQ(lists[0].params.count("pageToken"), 0u);
  EXPECT_EQ(lists[1].params.count("pageToken"), 1u);
  EXPECT_EQ(lists[0].params.at("prefix"), "nyc/");
  EXPECT_THAT(paged.violations(), ::testing::IsEmpty());
}

TEST_F(GcsContractTest, Forbidden403NamesBucketKeyAndAccount) {
  fake_.Inject(
      Fake::Fault::Status(Op::kMediaUpload, 403, 1,
                          std::string(kEmail) + " does not have storage.objects.create access"));
  EXPECT_EQ(
      ErrorOf([&] { Store().Upload(WriteFile("a", "x"), kBucket, "nyc_taxi_data.parquet", {}); }),
      "upload gs://" + std::string(kBucket) +
          "/nyc_taxi_data.parquet failed: permission "
          "denied for " +
          kEmail + " on bucket '" + kBucket + "' (GCS 403 forbidden: " + kEmail +
          " does not have storage.objects.create access)");
}

TEST_F(GcsContractTest, MissingBucket404NamesBucket) {
  GcsObjectStore store = Store();
  EXPECT_EQ(
      ErrorOf([&] { store.Upload(WriteFile("a", "x"), "nope", "nyc_taxi_data.parquet", {}); }),
      "upload gs://nope/nyc_taxi_data.parquet failed: bucket 'nope' does not exist (GCS 404 "
      "notFound)");
  try {
    store.Stat("nope", "k");
    FAIL();
  } catch (const ObjectStoreError& e) {
    EXPECT_EQ(e.kind(), ObjectStoreError::Kind::kNoSuchBucket);
  }
  EXPECT_EQ(store.Stat(kBucket, "absent"), std::nullopt);  // the bucket exists: just absent
}

TEST_F(GcsContractTest, ServiceUnavailableAndRateLimitsAreRetried) {
  fake_.Inject(Fake::Fault::Status(Op::kMediaUpload, 503));
  fake_.Inject(Fake::Fault::Status(Op::kMediaUpload, 429));
  Store().Upload(WriteFile("a", "abc"), kBucket, "k", {});
  EXPECT_EQ(fake_.Object(kBucket, "k"), "abc");
  EXPECT_EQ(fake_.Requests(Op::kMediaUpload).size(), 3u);
  ASSERT_EQ(log_.size(), 2u);
  EXPECT_THAT(log_[0], HasSubstr("warning: upload gs://" + std::string(kBucket) + "/k: HTTP 503"));
}

TEST_F(GcsContractTest, DeleteOfMissingObjectSucceeds) {
  GcsObjectStore store = Store();
  fake_.PutObject(kBucket, "a/b", "x");
  store.Delete(kBucket, "a/b");
  store.Delete(kBucket, "a/b");
  EXPECT_FALSE(fake_.Object(kBucket, "a/b"));
  EXPECT_THAT(fake_.Requests(Op::kObjectDelete)[0].target, HasSubstr("/o/a%2Fb"));
}

TEST_F(GcsContractTest, StorageEmulatorHostSendsNoAuthorization) {
  Fake::Options emulator_options;
  emulator_options.require_auth = false;  // and refuses any Authorization header
  Fake emulator(emulator_options);
  emulator.CreateBucket(kBucket);
  CloudServices services;
  services.storage_emulator_host = emulator.host_port();
  services.http = http_;
  GoogleAuth auth;  // not read: the emulator needs none
  auto store = OpenObjectStore("gs", auth, services);
  store->Upload(WriteFile("a", "abc"), kBucket, "k", {});
  EXPECT_EQ(store->Stat(kBucket, "k")->size, 3u);
  EXPECT_EQ(emulator.Object(kBucket, "k"), "abc");
  EXPECT_EQ(emulator.tokens_issued(), 0);
  for (const auto& request : emulator.Requests()) EXPECT_EQ(request.authorization, "");
  EXPECT_THAT(emulator.violations(), ::testing::IsEmpty());
  EXPECT_EQ(GcsEmulatorBaseUrl("localhost:4443"), "http://localhost:4443");
  EXPECT_EQ(GcsEmulatorBaseUrl("https://gcs.local/"), "https://gcs.local");
}

}  // namespace
}  // namespace kiln::connectors
