// SQL data loaders reading http(s) URLs through Kiln's fetcher (DuckDB has no httpfs here),
// against a real HTTP server on loopback serving the real sample.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "support/httplib.h"
#include "support/kiln_project.h"

namespace kiln::testing {
namespace {

using ::testing::HasSubstr;

class HttpSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sample_ = Slurp(TestDataDir() / "yellow_tripdata_2021-01.sample.csv.gz");
    ASSERT_GT(sample_.size(), 100000u);
    // Serves the sample with an ETag, answering revalidations with 304 as GitHub does.
    server_.Get("/yellow/yellow_tripdata_2021-01.csv.gz",
                [this](const httplib::Request& req, httplib::Response& res) {
                  res.set_header("ETag", "\"sample-v1\"");
                  if (req.get_header_value("If-None-Match") == "\"sample-v1\"") {
                    res.status = 304;
                    return;
                  }
                  ++bodies_sent_;
                  res.set_content(sample_, "application/gzip");
                });
    // Like a GitHub release download: a redirect to where the file is stored.
    server_.Get("/releases/download/yellow/yellow_tripdata_2021-01.csv.gz",
                [](const httplib::Request&, httplib::Response& res) {
                  res.set_redirect("/yellow/yellow_tripdata_2021-01.csv.gz");
                });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  ProcessResult RunWithSource(const std::string& url) {
    return project_.Run("api_to_warehouse",
                        {"--runtime-vars", "{\"source_url\": \"" + url + "\"}"});
  }

  KilnProject project_{"nyc_taxi"};
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::string sample_;
  std::atomic<int> bodies_sent_{0};
};

TEST_F(HttpSourceTest, ReadCsvOfAnHttpUrlLoadsTheFileAsHttpfsWould) {
  ProcessResult r = RunWithSource(Url("/yellow/yellow_tripdata_2021-01.csv.gz"));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(project_.WarehouseValue("SELECT count(*) FROM ny_taxi.yellow_taxi_data"), "22303");
  EXPECT_THAT(Slurp(project_.data_dir() / "pipelines/api_to_warehouse/.logs/load_taxi_data.log"),
              HasSubstr("downloaded " + Url("/yellow/yellow_tripdata_2021-01.csv.gz")));
}

TEST_F(HttpSourceTest, RedirectsAreFollowed) {
  ProcessResult r = RunWithSource(Url("/releases/download/yellow/yellow_tripdata_2021-01.csv.gz"));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(project_.WarehouseValue("SELECT count(*) FROM ny_taxi.yellow_taxi_data"), "22303");
}

TEST_F(HttpSourceTest, SecondRunRevalidatesTheCachedCopyInsteadOfDownloadingAgain) {
  ASSERT_EQ(RunWithSource(Url("/yellow/yellow_tripdata_2021-01.csv.gz")).exit_code, 0);
  ProcessResult r = RunWithSource(Url("/yellow/yellow_tripdata_2021-01.csv.gz"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(bodies_sent_, 1);
  EXPECT_EQ(project_.WarehouseValue("SELECT count(*) FROM ny_taxi.yellow_taxi_data"), "22303");
  EXPECT_THAT(Slurp(project_.data_dir() / "pipelines/api_to_warehouse/.logs/load_taxi_data.log"),
              HasSubstr("using cached " + Url("/yellow/yellow_tripdata_2021-01.csv.gz")));
}

TEST_F(HttpSourceTest, MissingFileFailsTheLoaderWithTheUrlAndStatus) {
  ProcessResult r = RunWithSource(Url("/yellow/nope.csv.gz"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("GET " + Url("/yellow/nope.csv.gz") + " failed: HTTP 404"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("transform_taxi_data +upstream_failed"));
}

}  // namespace
}  // namespace kiln::testing
