// Specifications of connectors/http: HttpFetcher against a real HTTP server on loopback
// (cpp-httplib), serving the real NYC taxi sample from tests/data.

#include "support/httplib.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "kiln/connectors/http/download_cache.h"
#include "kiln/connectors/http/http_fetcher.h"
#include "kiln/connectors/http/progress.h"
#include "kiln/connectors/http/url.h"

namespace kiln::connectors {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr char kSampleName[] = "yellow_tripdata_2021-01.sample.csv.gz";
constexpr char kDataPath[] = "/data/yellow_tripdata_2021-01.csv.gz";
constexpr char kEtag[] = "\"v1\"";

//! KILN_TEST_DATA (set by CTest), else tests/data next to this source file.
fs::path TestDataDir() {
  if (const char* dir = std::getenv("KILN_TEST_DATA"); dir && *dir) return dir;
  if (const char* root = std::getenv("KILN_SOURCE_DIR"); root && *root) {
    return fs::path(root) / "tests" / "data";
  }
  return fs::path(__FILE__).parent_path().parent_path() / "data";
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class HttpFetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);  // loopback never goes through a proxy
    sample_ = ReadFile(TestDataDir() / kSampleName);
    ASSERT_GT(sample_.size(), 100'000u) << "missing " << (TestDataDir() / kSampleName);
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    cache_dir_ = fs::temp_directory_path() /
                 ("kiln_http_test_" + std::to_string(getpid()) + "_" + test->name());
    fs::remove_all(cache_dir_);
  }

  void TearDown() override {
    StopServer();
    fs::remove_all(cache_dir_);
  }

  //! Starts serving the routes registered so far on a free loopback port.
  void StartServer() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }

  void StopServer() {
    if (!thread_.joinable()) return;
    server_.stop();
    thread_.join();
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  //! Fast retries, no bar, log lines collected in log_.
  FetchOptions Options() {
    FetchOptions options;
    options.cache_dir = cache_dir_;
    options.initial_backoff = 10ms;
    options.progress_bar = false;
    options.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> guard(mutex_);
      log_.push_back(line);
    };
    return options;
  }

  //! Serves the sample at kDataPath with an ETag; a matching If-None-Match gets 304.
  void ServeSampleWithEtag(std::chrono::milliseconds delay = 0ms) {
    server_.Get(kDataPath, [this, delay](const httplib::Request& req, httplib::Response& res) {
      ++requests_;
      {
        std::lock_guard<std::mutex> guard(mutex_);
        if_none_match_seen_.push_back(req.get_header_value("If-None-Match"));
      }
      if (req.get_header_value("If-None-Match") == kEtag) {
        res.status = 304;
        return;
      }
      std::this_thread::sleep_for(delay);
      res.set_header("ETag", kEtag);
      res.set_content(sample_, "application/gzip");
      ++bodies_sent_;
    });
  }

  //! Every regular file under the cache folder, as paths relative to it.
  std::vector<std::string> CacheFiles() const {
    std::vector<std::string> files;
    if (!fs::exists(cache_dir_)) return files;
    for (const auto& item : fs::recursive_directory_iterator(cache_dir_)) {
      if (item.is_regular_file()) files.push_back(fs::relative(item.path(), cache_dir_).string());
    }
    return files;
  }

  bool LogHas(const std::string& text) {
    std::lock_guard<std::mutex> guard(mutex_);
    for (const auto& line : log_) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }

  std::string sample_;
  fs::path cache_dir_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
  std::atomic<int> bodies_sent_{0};
  std::mutex mutex_;
  std::vector<std::string> if_none_match_seen_;
  std::vector<std::string> log_;
};

TEST_F(HttpFetcherTest, FirstFetchDownloadsTheExactBytesUnderTheUrlFileName) {
  ServeSampleWithEtag();
  StartServer();

  FetchResult result = HttpFetcher(Options()).Fetch(Url(kDataPath));

  EXPECT_FALSE(result.from_cache);
  EXPECT_EQ(result.bytes, sample_.size());
  EXPECT_EQ(result.local_path.filename(), "yellow_tripdata_2021-01.csv.gz");
  EXPECT_EQ(result.local_path.parent_path(), cache_dir_ / http_internal::Sha256Hex(Url(kDataPath)));
  EXPECT_EQ(ReadFile(result.local_path), sample_);  // stored as served, not decompressed
}

TEST_F(HttpFetcherTest, MetaJsonRecordsUrlValidatorsAndSize) {
  ServeSampleWithEtag();
  StartServer();

  FetchResult result = HttpFetcher(Options()).Fetch(Url(kDataPath));

  auto meta = nlohmann::json::parse(ReadFile(result.local_path.parent_path() / "meta.json"));
  EXPECT_EQ(meta["url"], Url(kDataPath));
  EXPECT_EQ(meta["etag"], kEtag);
  EXPECT_EQ(meta["bytes"], sample_.size());
  EXPECT_EQ(meta["fetched_at"].get<std::string>().size(),
            std::string("2021-01-01T00:00:00Z").size());
}

TEST_F(HttpFetcherTest, SecondFetchRevalidatesWithEtagAndKeepsTheCopyOn304) {
  ServeSampleWithEtag();
  StartServer();
  HttpFetcher fetcher(Options());
  fetcher.Fetch(Url(kDataPath));

  FetchResult second = fetcher.Fetch(Url(kDataPath));

  EXPECT_TRUE(second.from_cache);
  ASSERT_EQ(if_none_match_seen_.size(), 2u);
  EXPECT_EQ(if_none_match_seen_[0], "");
  EXPECT_EQ(if_none_match_seen_[1], kEtag);
  EXPECT_EQ(bodies_sent_, 1);  // the file was not re-sent
  EXPECT_EQ(ReadFile(second.local_path), sample_);
}

TEST_F(HttpFetcherTest, ChangedFileOn200ReplacesTheCachedCopy) {
  server_.Get("/data/zones.csv", [this](const httplib::Request&, httplib::Response& res) {
    std::string version = std::to_string(++requests_);  // a new version on every request
    res.set_header("ETag", "\"" + version + "\"");
    res.set_content("LocationID,Borough\n" + version + ",Queens\n", "text/csv");
  });
  StartServer();
  HttpFetcher fetcher(Options());
  fetcher.Fetch(Url("/data/zones.csv"));

  FetchResult result = fetcher.Fetch(Url("/data/zones.csv"));

  EXPECT_FALSE(result.from_cache);
  EXPECT_EQ(ReadFile(result.local_path), "LocationID,Borough\n2,Queens\n");
}

TEST_F(HttpFetcherTest, RedirectIsFollowedAndTheFileKeepsTheRequestedName) {
  server_.Get("/releases/download/yellow/yellow_tripdata_2021-01.csv.gz",
              [](const httplib::Request&, httplib::Response& res) {
                res.set_redirect("/objects/4711?response-content-disposition=attachment", 302);
              });
  server_.Get("/objects/4711", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(sample_, "application/octet-stream");
  });
  StartServer();

  FetchResult result =
      HttpFetcher(Options()).Fetch(Url("/releases/download/yellow/yellow_tripdata_2021-01.csv.gz"));

  EXPECT_EQ(result.local_path.filename(), "yellow_tripdata_2021-01.csv.gz");
  EXPECT_EQ(ReadFile(result.local_path), sample_);
}

TEST_F(HttpFetcherTest, NotFoundThrowsHttpErrorNamingTheUrlAndLeavesNothingInTheCache) {
  StartServer();
  std::string url = Url("/data/yellow_tripdata_2099-01.csv.gz");

  try {
    HttpFetcher(Options()).Fetch(url);
    FAIL() << "expected HttpError";
  } catch (const HttpError& e) {
    EXPECT_STREQ(e.what(), ("GET " + url + " failed: HTTP 404 Not Found").c_str());
    EXPECT_EQ(e.status(), 404);
  }
  EXPECT_EQ(CacheFiles(), std::vector<std::string>{});
}

TEST_F(HttpFetcherTest, ClientErrorIsNotRetried) {
  server_.Get("/private.csv", [this](const httplib::Request&, httplib::Response& res) {
    ++requests_;
    res.status = 403;
  });
  StartServer();

  EXPECT_THROW(HttpFetcher(Options()).Fetch(Url("/private.csv")), HttpError);
  EXPECT_EQ(requests_, 1);
}

TEST_F(HttpFetcherTest, CredentialsInTheUrlAreLeftOutOfTheError) {
  StartServer();
  std::string url = "http://kiln:s3cret@127.0.0.1:" + std::to_string(port_) + "/missing.csv";

  try {
    HttpFetcher(Options()).Fetch(url);
    FAIL() << "expected HttpError";
  } catch (const HttpError& e) {
    EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
    EXPECT_EQ(e.url(), url);
  }
}

TEST_F(HttpFetcherTest, ServiceUnavailableIsRetriedAndThenSucceeds) {
  server_.Get(kDataPath, [this](const httplib::Request&, httplib::Response& res) {
    if (++requests_ == 1) {
      res.status = 503;
      return;
    }
    res.set_content(sample_, "application/gzip");
  });
  StartServer();

  FetchResult result = HttpFetcher(Options()).Fetch(Url(kDataPath));

  EXPECT_EQ(requests_, 2);
  EXPECT_EQ(ReadFile(result.local_path), sample_);
  EXPECT_TRUE(LogHas("HTTP 503 Service Unavailable; retrying in"));
}

TEST_F(HttpFetcherTest, PersistentServerErrorFailsAfterMaxAttempts) {
  server_.Get(kDataPath, [this](const httplib::Request&, httplib::Response& res) {
    ++requests_;
    res.status = 500;
  });
  StartServer();
  FetchOptions options = Options();
  options.max_attempts = 3;

  try {
    HttpFetcher(options).Fetch(Url(kDataPath));
    FAIL() << "expected HttpError";
  } catch (const HttpError& e) {
    EXPECT_STREQ(e.what(), ("GET " + Url(kDataPath) +
                            " failed: HTTP 500 Internal Server Error (after 3 tries)")
                               .c_str());
  }
  EXPECT_EQ(requests_, 3);
}

TEST_F(HttpFetcherTest, BodyShorterThanContentLengthIsRejectedAndNotCached) {
  // Handlers own what they serve: the server may still be sending after the test body ends.
  const std::string csv(100'000, 'x');
  server_.Get("/data/trips.csv", [csv](const httplib::Request&, httplib::Response& res) {
    res.set_content_provider(csv.size(), "text/csv",
                             [csv](size_t offset, size_t, httplib::DataSink& sink) {
                               sink.write(csv.data(), csv.size() / 2);
                               return false;  // hang up after half the declared length
                             });
  });
  StartServer();
  FetchOptions options = Options();
  options.max_attempts = 2;

  try {
    HttpFetcher(options).Fetch(Url("/data/trips.csv"));
    FAIL() << "expected HttpError";
  } catch (const HttpError& e) {
    EXPECT_NE(std::string(e.what()).find("body shorter than Content-Length (got 50000 of 100000"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(CacheFiles(), std::vector<std::string>{});
}

TEST_F(HttpFetcherTest, TruncatedGzipIsRejectedAndNotCached) {
  server_.Get(kDataPath, [this](const httplib::Request&, httplib::Response& res) {
    ++requests_;
    res.set_content(sample_.substr(0, sample_.size() / 2), "application/gzip");
  });
  StartServer();

  try {
    HttpFetcher(Options()).Fetch(Url(kDataPath));
    FAIL() << "expected HttpError";
  } catch (const HttpError& e) {
    EXPECT_NE(std::string(e.what()).find("failed: truncated gzip"), std::string::npos) << e.what();
  }
  EXPECT_EQ(requests_, 1);  // the server has the file that way; retrying would not help
  EXPECT_EQ(CacheFiles(), std::vector<std::string>{});
}

TEST_F(HttpFetcherTest, CorruptGzipIsRejectedWhileDownloading) {
  std::string corrupt = sample_;
  for (size_t i = 1000; i < 1100; ++i) corrupt[i] = static_cast<char>(~corrupt[i]);
  server_.Get(kDataPath, [corrupt](const httplib::Request&, httplib::Response& res) {
    res.set_content(corrupt, "application/gzip");
  });
  StartServer();

  try {
    HttpFetcher(Options()).Fetch(Url(kDataPath));
    FAIL() << "expected HttpError";
  } catch (const HttpError& e) {
    EXPECT_NE(std::string(e.what()).find("failed: corrupt gzip"), std::string::npos) << e.what();
  }
  EXPECT_EQ(CacheFiles(), std::vector<std::string>{});
}

TEST_F(HttpFetcherTest, GzipMagicWithoutGzExtensionIsVerifiedToo) {
  server_.Get("/export", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(sample_.substr(0, 5000), "application/octet-stream");
  });
  StartServer();

  EXPECT_THROW(
      {
        try {
          HttpFetcher(Options()).Fetch(Url("/export"));
        } catch (const HttpError& e) {
          EXPECT_NE(std::string(e.what()).find("truncated gzip"), std::string::npos);
          throw;
        }
      },
      HttpError);
}

TEST_F(HttpFetcherTest, MultiMemberGzipIsAccepted) {
  server_.Get(kDataPath, [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(sample_ + sample_, "application/gzip");  // as `cat a.gz b.gz` makes
  });
  StartServer();

  FetchResult result = HttpFetcher(Options()).Fetch(Url(kDataPath));

  EXPECT_EQ(result.bytes, 2 * sample_.size());
}

TEST_F(HttpFetcherTest, ServerDownWithCachedCopyFallsBackWithAWarning) {
  ServeSampleWithEtag();
  StartServer();
  HttpFetcher fetcher(Options());
  fetcher.Fetch(Url(kDataPath));
  StopServer();

  FetchResult result = fetcher.Fetch(Url(kDataPath));

  EXPECT_TRUE(result.from_cache);
  EXPECT_EQ(ReadFile(result.local_path), sample_);
  EXPECT_TRUE(LogHas("warning: GET " + Url(kDataPath) +
                     " failed: cannot connect to 127.0.0.1:" + std::to_string(port_)));
  EXPECT_TRUE(LogHas("using the cached copy fetched at"));
}

TEST_F(HttpFetcherTest, ServerDownWithoutCachedCopyThrowsNamingTheHost) {
  StartServer();
  StopServer();
  FetchOptions options = Options();
  options.max_attempts = 2;

  try {
    HttpFetcher(options).Fetch(Url(kDataPath));
    FAIL() << "expected HttpError";
  } catch (const HttpError& e) {
    EXPECT_STREQ(e.what(), ("GET " + Url(kDataPath) + " failed: cannot connect to 127.0.0.1:" +
                            std::to_string(port_) + ": Connection refused (after 2 tries)")
                               .c_str());
  }
  EXPECT_EQ(CacheFiles(), std::vector<std::string>{});
}

TEST_F(HttpFetcherTest, ConcurrentFetchesOfOneUrlAllGetTheSameIntactFile) {
  ServeSampleWithEtag(/*delay=*/100ms);
  StartServer();
  HttpFetcher fetcher(Options());
  std::vector<FetchResult> results(4);
  std::vector<std::thread> threads;

  for (auto& result : results) {
    threads.emplace_back([&fetcher, &result, this] { result = fetcher.Fetch(Url(kDataPath)); });
  }
  for (auto& thread : threads) thread.join();

  for (const auto& result : results) {
    EXPECT_EQ(result.local_path, results[0].local_path);
    EXPECT_EQ(ReadFile(result.local_path), sample_);
  }
  EXPECT_EQ(bodies_sent_, 1);
  EXPECT_EQ(CacheFiles().size(), 3u);  // the body, meta.json and .lock; no temporary files
}

TEST_F(HttpFetcherTest, WithoutATerminalOneLineIsLoggedAtStartAndEnd) {
  ServeSampleWithEtag();
  StartServer();

  HttpFetcher(Options()).Fetch(Url(kDataPath));

  ASSERT_EQ(log_.size(), 2u);
  EXPECT_EQ(log_[0], "downloading " + Url(kDataPath) + " (393.2 KiB)");
  EXPECT_TRUE(log_[1].starts_with("downloaded " + Url(kDataPath) + ": 393.2 KiB in ")) << log_[1];
}

TEST_F(HttpFetcherTest, FileUrlMapsToTheLocalPath) {
  fs::path sample = fs::absolute(TestDataDir() / kSampleName);

  FetchResult result = HttpFetcher(Options()).Fetch("file://" + sample.string());

  EXPECT_EQ(result.local_path, sample);
  EXPECT_EQ(result.bytes, sample_.size());
  EXPECT_FALSE(fs::exists(cache_dir_));
}

TEST(HttpProgressTest, BarLineShowsBytesDoneOfTotalPercentAndRate) {
  EXPECT_EQ(
      http_internal::FormatProgressLine("trips.csv.gz", 512 * 1024, 1024 * 1024, 2.0 * 1024 * 1024),
      "trips.csv.gz [##########----------]  512.0 KiB / 1.0 MiB  50%  2.0 MiB/s");
  EXPECT_EQ(http_internal::FormatProgressLine("trips.csv", 300, std::nullopt, 100),
            "trips.csv  300 B  100 B/s");
}

TEST(HttpCacheTest, EntryFolderIsTheSha256OfTheUrl) {
  EXPECT_EQ(http_internal::Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HttpUrlTest, BodyFileNameIsTheDecodedLastPathSegmentAndStaysInsideTheEntry) {
  using http_internal::BodyFileName;
  EXPECT_EQ(BodyFileName("https://h/a/yellow%20trips.csv.gz?sig=x/y.txt#z"), "yellow trips.csv.gz");
  EXPECT_EQ(BodyFileName("https://h/"), "download");
  EXPECT_EQ(BodyFileName("https://h/a/%2e%2e"), "download");
  EXPECT_EQ(BodyFileName("https://h/a%2Fb"), "a_b");
  EXPECT_EQ(BodyFileName("https://h/meta.json"), "body.meta.json");
  EXPECT_EQ(BodyFileName("https://h/.lock"), "_.lock");
}

TEST(HttpUrlTest, RedactUrlDropsOnlyTheUserinfo) {
  EXPECT_EQ(http_internal::RedactUrl("https://u:p@h:8443/x.csv?a=b@c"),
            "https://h:8443/x.csv?a=b@c");
  EXPECT_EQ(http_internal::RedactUrl("https://h/x@y.csv"), "https://h/x@y.csv");
}

}  // namespace
}  // namespace kiln::connectors
