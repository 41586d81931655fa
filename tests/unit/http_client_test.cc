// Specifications of connectors/http/http_client and retry: any method against a real HTTP server
// on loopback (cpp-httplib), bodies from memory and from file ranges, responses to memory and to
// files, every response header, and the shared retry rule.

#include "support/httplib.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "kiln/connectors/http/http_client.h"
#include "kiln/connectors/http/retry.h"

namespace kiln::connectors {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("kiln_http_client_" + std::to_string(getpid()) + "_" + test->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
    fs::remove_all(dir_);
  }
  void Start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  //! The request the server saw last.
  struct Seen {
    std::string method, body, content_type, content_length, expect, custom;
  };
  void Record(const httplib::Request& req) {
    std::lock_guard<std::mutex> guard(mutex_);
    seen_ = {req.method,
             req.body,
             req.get_header_value("Content-Type"),
             req.get_header_value("Content-Length"),
             req.get_header_value("Expect"),
             req.get_header_value("X-Custom")};
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  fs::path dir_;
  std::mutex mutex_;
  Seen seen_;
};

TEST_F(HttpClientTest, PutSendsTheFileRangeAndAnswersEveryHeaderCaseInsensitively) {
  server_.Put("/upload", [this](const httplib::Request& req, httplib::Response& res) {
    Record(req);
    res.status = 308;
    res.set_header("Range", "bytes=0-" + std::to_string(req.body.size() - 1));
    res.set_header("X-GUploader-UploadID", "abc");
  });
  Start();
  std::string content(3 << 20, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + i % 26);
  std::ofstream(dir_ / "data.bin", std::ios::binary) << content;

  HttpRequest request("PUT", Url("/upload"));
  request.headers.Add("X-Custom", "kiln");
  request.body = FileRange{dir_ / "data.bin", 1000, 2 << 20};
  HttpResponse response = SendHttp(request);

  ASSERT_EQ(response.transport_error, "");
  EXPECT_EQ(response.status, 308);  // an answer, not a redirect to follow
  EXPECT_EQ(response.headers.Get("range"), "bytes=0-2097151");
  EXPECT_EQ(response.headers.Get("x-guploader-uploadid"), "abc");
  EXPECT_EQ(seen_.method, "PUT");
  EXPECT_EQ(seen_.body, content.substr(1000, 2 << 20));
  EXPECT_EQ(seen_.content_length, std::to_string(2 << 20));
  EXPECT_EQ(seen_.content_type, "");  // no form type invented by curl
  EXPECT_EQ(seen_.expect, "");        // no 100-continue round trip
  EXPECT_EQ(seen_.custom, "kiln");
}

TEST_F(HttpClientTest, PostFromMemoryAndEmptyPutSendTheirLengths) {
  server_.Post("/form", [this](const httplib::Request& req, httplib::Response& res) {
    Record(req);
    res.set_content("{\"ok\":true}", "application/json");
  });
  server_.Put("/empty", [this](const httplib::Request& req, httplib::Response&) { Record(req); });
  Start();

  HttpRequest post("POST", Url("/form"));
  post.headers.Add("Content-Type", "application/x-www-form-urlencoded");
  post.body = std::string("grant_type=refresh_token&a=b");
  HttpResponse answer = SendHttp(post);
  EXPECT_TRUE(answer.ok());
  EXPECT_EQ(answer.body, "{\"ok\":true}");
  EXPECT_EQ(seen_.body, "grant_type=refresh_token&a=b");
  EXPECT_EQ(seen_.content_type, "application/x-www-form-urlencoded");

  HttpResponse empty = SendHttp(HttpRequest("PUT", Url("/empty")));
  EXPECT_EQ(empty.status, 200);
  EXPECT_EQ(seen_.method, "PUT");
  EXPECT_EQ(seen_.content_length, "0");
}

TEST_F(HttpClientTest, DeleteAndHeadUseTheirMethods) {
  server_.Delete("/o", [this](const httplib::Request& req, httplib::Response& res) {
    Record(req);
    res.status = 204;
  });
  server_.Get("/o", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("body", "text/plain");
  });
  Start();
  EXPECT_EQ(SendHttp(HttpRequest("DELETE", Url("/o"))).status, 204);
  EXPECT_EQ(seen_.method, "DELETE");
  HttpResponse head = SendHttp(HttpRequest("HEAD", Url("/o")));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.headers.Get("Content-Length"), "4");
}

TEST_F(HttpClientTest, SuccessBodyGoesToTheFileAndAnErrorBodyToMemory) {
  server_.Get("/ok", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(100'000, 'x'), "application/octet-stream");
  });
  server_.Get("/missing", [](const httplib::Request&, httplib::Response& res) {
    res.status = 404;
    res.set_content("{\"error\":{\"code\":404,\"message\":\"No such object\"}}",
                    "application/json");
  });
  Start();
  const fs::path target = dir_ / "out.bin";
  HttpRequest get("GET", Url("/ok"));
  get.response_file = target;
  HttpResponse ok = SendHttp(get);
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.body, "");
  EXPECT_EQ(ok.body_bytes, 100'000u);
  EXPECT_EQ(fs::file_size(target), 100'000u);

  const fs::path untouched = dir_ / "never.bin";
  HttpRequest get_missing("GET", Url("/missing"));
  get_missing.response_file = untouched;
  HttpResponse missing = SendHttp(get_missing);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.StatusText(), "HTTP 404 Not Found");
  EXPECT_NE(missing.body.find("No such object"), std::string::npos);
  EXPECT_FALSE(fs::exists(untouched));
}

TEST_F(HttpClientTest, RefusedConnectionIsARetryableTransportErrorNamingTheHost) {
  Start();
  const std::string url = Url("/x");
  server_.stop();
  thread_.join();
  HttpResponse response = SendHttp(HttpRequest("GET", url));
  EXPECT_EQ(response.status, 0);
  EXPECT_TRUE(response.retryable);
  EXPECT_EQ(response.transport_error,
            "cannot connect to 127.0.0.1:" + std::to_string(port_) + ": Connection refused");
}

TEST_F(HttpClientTest, CancelledRequestStopsPromptly) {
  server_.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(2s);
    res.set_content("late", "text/plain");
  });
  Start();
  const auto started = std::chrono::steady_clock::now();
  HttpRequest request("GET", Url("/slow"));
  request.cancelled = [&] { return std::chrono::steady_clock::now() - started > 100ms; };
  HttpResponse response = SendHttp(request);
  EXPECT_EQ(response.transport_error, "cancelled");
  EXPECT_FALSE(response.retryable);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms);
}

TEST_F(HttpClientTest, AShortFileRangeThrowsNamingTheFile) {
  server_.Put("/x", [](const httplib::Request&, httplib::Response&) {});
  Start();
  std::ofstream(dir_ / "short.bin") << "0123456789";
  HttpRequest request("PUT", Url("/x"));
  request.body = FileRange{dir_ / "short.bin", 0, 100};
  try {
    SendHttp(request);
    FAIL() << "expected std::system_error";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("short.bin ended before byte 100"), std::string::npos)
        << e.what();
  }
}

TEST_F(HttpClientTest, RetriesServiceUnavailableThenReturnsTheAnswer) {
  std::atomic<int> calls = 0;
  server_.Get("/flaky", [&](const httplib::Request&, httplib::Response& res) {
    if (++calls < 3) {
      res.status = 503;
      return;
    }
    res.set_content("done", "text/plain");
  });
  server_.Get("/gone", [&](const httplib::Request&, httplib::Response& res) { res.status = 404; });
  Start();
  std::vector<std::string> log;
  RetryPolicy fast{.max_attempts = 4, .initial_backoff = 5ms};
  HttpResponse response = SendWithRetries(HttpRequest("GET", Url("/flaky?token=secret")), fast,
                                          [&](const std::string& line) { log.push_back(line); });
  EXPECT_EQ(response.body, "done");
  EXPECT_EQ(calls, 3);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_NE(log[0].find("warning: GET " + Url("/flaky") + ": HTTP 503"), std::string::npos)
      << log[0];
  EXPECT_EQ(log[0].find("secret"), std::string::npos);

  calls = 0;
  EXPECT_EQ(SendWithRetries(HttpRequest("GET", Url("/gone")), fast).status, 404);  // not retried
}

TEST(RetryTest, DelayDoublesWithJitterAndHonoursRetryAfter) {
  std::minstd_rand random(7);
  RetryPolicy policy;  // 0.5 s doubling
  for (int i = 0; i < 20; ++i) {
    auto second = RetryDelay(policy, 2, std::nullopt, random);
    EXPECT_GE(second, 250ms);
    EXPECT_LE(second, 500ms);
    auto fourth = RetryDelay(policy, 4, std::nullopt, random);
    EXPECT_GE(fourth, 1000ms);
    EXPECT_LE(fourth, 2000ms);
  }
  EXPECT_EQ(RetryDelay(policy, 2, 5s, random), 5000ms);
  EXPECT_EQ(RetryDelay(policy, 2, 3600s, random), 60'000ms);  // capped
  EXPECT_TRUE(IsRetryableStatus(429));
  EXPECT_TRUE(IsRetryableStatus(503));
  EXPECT_FALSE(IsRetryableStatus(403));
}

TEST(PercentEncodeTest, EncodesSlashesAndKeepsUnreserved) {
  EXPECT_EQ(PercentEncode("2021/01/01/daily trips.parquet"),
            "2021%2F01%2F01%2Fdaily%20trips.parquet");
  EXPECT_EQ(PercentEncode("A-z_0.9~"), "A-z_0.9~");
  EXPECT_EQ(PercentEncode("é"), "%C3%A9");
}

}  // namespace
}  // namespace kiln::connectors
