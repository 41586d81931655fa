// The seed's api_to_postgres pipeline in Python, its three block files byte for byte
// (tests/data/seed_python/), the loader's URL pointed at a local HTTP server serving the real
// sample, exporting through mage_ai.io.postgres into a real PostgreSQL 15 the suite starts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "kiln/common/files.h"
#include "support/httplib.h"
#include "support/kiln_project.h"
#include "support/postgres_server.h"

namespace kiln::testing {
namespace {

using ::testing::HasSubstr;

constexpr const char* kSeedUrl =
    "https://github.com/DataTalksClub/nyc-tlc-data/releases/download/yellow/"
    "yellow_tripdata_2021-01.csv.gz";

constexpr const char* kPipeline = R"(uuid: api_to_postgres
name: api_to_postgres
type: python
blocks:
- uuid: load_api_data
  type: data_loader
  language: python
  upstream_blocks: []
  downstream_blocks: [transform_taxi_data]
- uuid: transform_taxi_data
  type: transformer
  language: python
  upstream_blocks: [load_api_data]
  downstream_blocks: [taxi_data_to_postgres]
- uuid: taxi_data_to_postgres
  type: data_exporter
  language: python
  upstream_blocks: [transform_taxi_data]
  downstream_blocks: []
)";

class PythonSeedTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<PostgresServer>(); }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    db_ = server_->CreateDatabase("seed");
    files_["/yellow/yellow_tripdata_2021-01.csv.gz"] =
        ReadFile(TestDataDir() / "yellow_tripdata_2021-01.sample.csv.gz");
    http_.Get(R"(/(.*))", [this](const httplib::Request& req, httplib::Response& res) {
      auto it = files_.find(req.path);
      if (it == files_.end()) {
        res.status = 404;
        return;
      }
      res.set_content(it->second, "application/gzip");
    });
    port_ = http_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { http_.listen_after_bind(); });
    while (!http_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

    const auto seed = TestDataDir() / "seed_python";
    std::string loader = ReadFile(seed / "load_api_data.py");
    size_t at = loader.find(kSeedUrl);
    ASSERT_NE(at, std::string::npos);
    loader.replace(at, std::string(kSeedUrl).size(), Url("/yellow/yellow_tripdata_2021-01.csv.gz"));
    project_.Write("data_loaders/load_api_data.py", loader);
    project_.Write("transformers/transform_taxi_data.py",
                   ReadFile(seed / "transform_taxi_data.py"));
    project_.Write("data_exporters/taxi_data_to_postgres.py",
                   ReadFile(seed / "taxi_data_to_postgres.py"));
    project_.Write("pipelines/api_to_postgres/metadata.yaml", kPipeline);
  }
  void TearDown() override {
    http_.stop();
    thread_.join();
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  ProcessResult Run() {
    return project_.Kiln({"run", project_.root().string(), "api_to_postgres", "--data-dir",
                          project_.data_dir().string()},
                         {{"POSTGRES_HOST", server_->host()},
                          {"POSTGRES_PORT", std::to_string(server_->port())},
                          {"POSTGRES_USER", server_->user()},
                          {"POSTGRES_PASSWORD", server_->password()},
                          {"POSTGRES_DBNAME", db_},
                          {"POSTGRES_SCHEMA", "magic"}});
  }
  std::string Sql(const std::string& sql) const { return server_->Psql(db_, sql); }

  static std::unique_ptr<PostgresServer> server_;
  std::string db_;
  KilnProject project_{"nyc_taxi"};  // its io_config.yaml has the seed's dev profile
  httplib::Server http_;
  std::thread thread_;
  int port_ = 0;
  std::map<std::string, std::string> files_;
};

std::unique_ptr<PostgresServer> PythonSeedTest::server_;

TEST_F(PythonSeedTest, TheSeedsBlocksLoadTheSampleIntoPostgresExactly) {
  ProcessResult r = Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Sql("SELECT count(*) FROM ny_taxi.yellow_cab_data"), "22303");
  EXPECT_EQ(Sql("SELECT round(sum(total_amount)::numeric, 2) FROM ny_taxi.yellow_cab_data"),
            "393571.80");
  EXPECT_EQ(Sql("SELECT count(*) FROM ny_taxi.yellow_cab_data WHERE passenger_count = 0"), "0");
  EXPECT_EQ(Sql("SELECT min(tpep_pickup_datetime) || ' / ' || max(tpep_dropoff_datetime) FROM "
                "ny_taxi.yellow_cab_data"),
            KilnProject::Value(
                "SELECT min(tpep_pickup_datetime) || ' / ' || max(tpep_dropoff_datetime) FROM "
                "read_csv('" +
                (TestDataDir() / "yellow_tripdata_2021-01.sample.csv.gz").string() +
                "') WHERE passenger_count > 0"));
  // Column types as Mage's exporter makes them from the pandas dtypes; names cleaned.
  EXPECT_EQ(Sql("SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY "
                "ordinal_position) FROM information_schema.columns WHERE table_schema = "
                "'ny_taxi' AND column_name IN ('vendorid', 'tpep_pickup_datetime', "
                "'store_and_fwd_flag', 'total_amount')"),
            "vendorid bigint, tpep_pickup_datetime timestamp without time zone, "
            "store_and_fwd_flag text, total_amount double precision");
  // print() in the transformer and the tests' summary reach the block logs.
  std::string logs = project_.data_dir() / "pipelines/api_to_postgres/.logs";
  EXPECT_THAT(ReadFile(logs + "/transform_taxi_data.log"),
              HasSubstr("Pre-processing: number of rides with 0 passengers: 489"));
  EXPECT_THAT(ReadFile(logs + "/load_api_data.log"), HasSubstr("1/1 tests passed."));
  EXPECT_THAT(r.out,
              HasSubstr("table ny_taxi.yellow_cab_data (replace, 22,303 rows, binary COPY)"));
  // The loader's output is stored as Mage stores it, with pandas' dtypes.
  std::string dtypes =
      ReadFile(project_.OutputDir("api_to_postgres", "load_api_data") / "data_column_types.json");
  nlohmann::json types = nlohmann::json::parse(dtypes);
  EXPECT_EQ(types["VendorID"], "Int64");
  EXPECT_EQ(types["tpep_pickup_datetime"], "datetime64[ns]");
  EXPECT_EQ(types["store_and_fwd_flag"], "str");  // Mage names an object column's value type
  EXPECT_EQ(types["total_amount"], "float64");
}

TEST_F(PythonSeedTest, NullsSurviveEveryHopIntoPostgres) {
  // Three rows in the sample's layout: empty fields are NULLs in pandas (NA / NaN / NaT).
  std::string csv =
      "VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,trip_distance,"
      "RatecodeID,store_and_fwd_flag,PULocationID,DOLocationID,payment_type,fare_amount,extra,"
      "mta_tax,tip_amount,tolls_amount,improvement_surcharge,total_amount,congestion_surcharge\n"
      "1,2021-01-01 00:30:10,2021-01-01 00:36:12,1,2.10,1,N,142,43,2,8,3,0.5,0,0,0.3,11.8,2.5\n"
      ",2021-01-01 01:00:00,,2,1.5,,,,,,7.5,0.5,0.5,0,0,0.3,8.8,\n"
      "2,2021-01-01 02:00:00,2021-01-01 02:10:00,,3.0,1,N,1,2,1,10,0,0.5,0,0,0.3,10.8,0\n";
  TempDir tmp;
  std::ofstream(tmp.path() / "nulls.csv") << csv;
  ASSERT_EQ(RunProcess({"/bin/gzip", "-k", (tmp.path() / "nulls.csv").string()}).exit_code, 0);
  files_["/yellow/yellow_tripdata_2021-01.csv.gz"] = ReadFile(tmp.path() / "nulls.csv.gz");
  ProcessResult r = Run();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // pandas drops the row whose passenger_count is NA (NA > 0 selects nothing), keeps the others.
  EXPECT_EQ(Sql("SELECT count(*) FROM ny_taxi.yellow_cab_data"), "2");
  EXPECT_EQ(Sql("SELECT count(*) FILTER (WHERE vendorid IS NULL) || ',' || count(*) FILTER "
                "(WHERE tpep_dropoff_datetime IS NULL) || ',' || count(*) FILTER (WHERE "
                "store_and_fwd_flag IS NULL) || ',' || count(*) FILTER (WHERE "
                "congestion_surcharge IS NULL) || ',' || count(*) FILTER (WHERE ratecodeid IS "
                "NULL) FROM ny_taxi.yellow_cab_data"),
            "1,1,1,1,1");
  EXPECT_EQ(Sql("SELECT tpep_pickup_datetime FROM ny_taxi.yellow_cab_data WHERE vendorid = 1"),
            "2021-01-01 00:30:10");
}

}  // namespace
}  // namespace kiln::testing
