// Python blocks reading and writing gs:// and s3:// objects through
// mage_ai.io.google_cloud_storage, mage_ai.io.s3 and Kiln's pyarrow stand-in, run by the real
// `kiln` binary with
// `--local-cloud DIR` (buckets are folders of DIR: no network, no credentials). The seed's cloud
// blocks run byte for byte (tests/data/seed_python/), on the real sample served over loopback.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <thread>

#include "kiln/common/files.h"
#include "support/httplib.h"
#include "support/kiln_project.h"

namespace kiln::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* kSeedUrl =
    "https://github.com/DataTalksClub/nyc-tlc-data/releases/download/yellow/"
    "yellow_tripdata_2021-01.csv.gz";
constexpr const char* kBucket = "mage-zoomcamp-evident-display-410312";

constexpr const char* kGuards = R"(if 'data_loader' not in globals():
    from mage_ai.data_preparation.decorators import data_loader
if 'data_exporter' not in globals():
    from mage_ai.data_preparation.decorators import data_exporter
)";

//! The seed's io_config: the key file does not exist here, and is never read in local mode.
constexpr const char* kSeedIoConfig = R"(version: 0.1.1
default:
  GOOGLE_SERVICE_ACC_KEY_FILEPATH: "/home/src/evident-display-410312-3f3459224de6.json"
  GOOGLE_LOCATION: US
nokeys:
  GOOGLE_LOCATION: US
)";

class CloudPythonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sample_ = ReadFile(TestDataDir() / "yellow_tripdata_2021-01.sample.csv.gz");
    http_.Get("/yellow/yellow_tripdata_2021-01.csv.gz",
              [this](const httplib::Request&, httplib::Response& res) {
                res.set_content(sample_, "application/gzip");
              });
    port_ = http_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { http_.listen_after_bind(); });
    while (!http_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    project_.Write("io_config.yaml", kSeedIoConfig);
  }
  void TearDown() override {
    http_.stop();
    thread_.join();
  }

  //! The seed's loader (its URL pointed at the loopback server) and transformer, byte for byte.
  void SeedBlocks() {
    const fs::path seed = TestDataDir() / "seed_python";
    std::string loader = ReadFile(seed / "load_api_data.py");
    const size_t at = loader.find(kSeedUrl);
    ASSERT_NE(at, std::string::npos);
    loader.replace(
        at, std::string(kSeedUrl).size(),
        "http://127.0.0.1:" + std::to_string(port_) + "/yellow/yellow_tripdata_2021-01.csv.gz");
    project_.Write("data_loaders/load_api_data.py", loader);
    project_.Write("transformers/transform_taxi_data.py",
                   ReadFile(seed / "transform_taxi_data.py"));
  }
  //! A pipeline `name`: load_api_data -> transform_taxi_data -> `exporter` (data_exporters/).
  void SeedPipeline(const std::string& name, const std::string& exporter) {
    project_.Write("pipelines/" + name + "/metadata.yaml",
                   "uuid: " + name +
                       "\nblocks:\n"
                       "- {uuid: load_api_data, type: data_loader, upstream_blocks: []}\n"
                       "- {uuid: transform_taxi_data, type: transformer, "
                       "upstream_blocks: [load_api_data]}\n"
                       "- {uuid: " +
                       exporter +
                       ", type: data_exporter, upstream_blocks: [transform_taxi_data]}\n");
  }
  //! A one-block pipeline `name` whose block is `code` (a data_loader, guards prepended).
  void OneBlock(const std::string& name, const std::string& code) {
    project_.Write("data_loaders/" + name + ".py", std::string(kGuards) + code);
    project_.Write("pipelines/" + name + "/metadata.yaml",
                   "uuid: " + name + "\nblocks:\n- {uuid: " + name +
                       ", type: data_loader, upstream_blocks: []}\n");
  }
  ProcessResult Run(const std::string& pipeline, bool local = true) {
    std::vector<std::string> more;
    if (local) more = {"--local-cloud", cloud_.path().string()};
    return project_.Run(pipeline, more);
  }
  std::string Log(const std::string& pipeline, const std::string& block) const {
    return ReadFile(project_.data_dir() / "pipelines" / pipeline / ".logs" / (block + ".log"));
  }
  fs::path Object(const std::string& bucket, const std::string& key) const {
    return cloud_.path() / bucket / key;
  }

  std::string sample_;
  KilnProject project_;
  TempDir cloud_;
  httplib::Server http_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(CloudPythonTest, SeedGcsExporterWritesOneParquetObjectOf22303RowsThatLoadsBack) {
  SeedBlocks();
  project_.Write("data_exporters/taxi_to_gcs_parquet.py",
                 ReadFile(TestDataDir() / "seed_python" / "taxi_to_gcs_parquet.py"));
  SeedPipeline("api_to_gcs", "taxi_to_gcs_parquet");
  ProcessResult r = Run("api_to_gcs");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const fs::path object = Object(kBucket, "nyc_taxi_data.parquet");
  ASSERT_TRUE(fs::is_regular_file(object)) << r.out;
  const std::string rp = "read_parquet('" + object.string() + "')";
  EXPECT_EQ(KilnProject::Value("SELECT count(*) FROM " + rp), "22303");
  // The transformer's filter left a non-Range index: kept as pyarrow does, with pandas' metadata.
  EXPECT_EQ(KilnProject::Value("SELECT count(*) FROM (DESCRIBE SELECT * FROM " + rp +
                               ") WHERE column_name = '__index_level_0__'"),
            "1");
  EXPECT_THAT(KilnProject::Value("SELECT decode(value) FROM parquet_kv_metadata('" +
                                 object.string() + "') WHERE decode(key) = 'pandas'"),
              HasSubstr("\"index_columns\":[\"__index_level_0__\"]"));
  // Mage's to_parquet(coerce_timestamps='ms'): timestamps stored in milliseconds.
  EXPECT_THAT(KilnProject::Value("SELECT logical_type FROM parquet_schema('" + object.string() +
                                 "') WHERE name = 'tpep_pickup_datetime'"),
              HasSubstr("MILLIS"));
  EXPECT_THAT(r.out, HasSubstr("gs://" + std::string(kBucket) +
                               "/nyc_taxi_data.parquet (local cloud: " + object.string()));

  // The seed's GCS loader reads it back: same rows, dtypes and index as the exporter's input.
  project_.Write("data_loaders/load_taxi_gcs.py",
                 ReadFile(TestDataDir() / "seed_python" / "load_taxi_gcs.py"));
  project_.Write("data_exporters/compare.py", std::string(kGuards) + R"(
import pandas as pd

@data_exporter
def compare(loaded, *args, **kwargs):
    print('LOADED', len(loaded), type(loaded.index).__name__, loaded.index[:3].tolist())
    print('DTYPES', dict(loaded.dtypes.astype(str)))
)");
  project_.Write("pipelines/gcs_to_check/metadata.yaml",
                 "uuid: gcs_to_check\nblocks:\n"
                 "- {uuid: load_taxi_gcs, type: data_loader, upstream_blocks: []}\n"
                 "- {uuid: compare, type: data_exporter, upstream_blocks: [load_taxi_gcs]}\n");
  r = Run("gcs_to_check");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string log = Log("gcs_to_check", "compare");
  EXPECT_THAT(log, HasSubstr("LOADED 22303 Int64Index"));
  EXPECT_THAT(log, HasSubstr("'VendorID': 'Int64'"));
  EXPECT_THAT(log, HasSubstr("'tpep_pickup_datetime': 'datetime64[ns]'"));
  EXPECT_THAT(log, HasSubstr("'store_and_fwd_flag': 'object'"));
  EXPECT_THAT(log, HasSubstr("'total_amount': 'float64'"));
}

TEST_F(CloudPythonTest, GcsExportThenLoadRoundTripsRowsDtypesAndIndex) {
  OneBlock("round_trip", R"(
import datetime
import pandas as pd
from mage_ai.io.base import FileFormat
from mage_ai.io.config import ConfigFileLoader
from mage_ai.io.google_cloud_storage import GoogleCloudStorage

@data_loader
def load(*args, **kwargs):
    df = pd.DataFrame({
        'n': pd.array([1, None, 3, 4], dtype='Int64'),
        'x': [0.5, 1.5, float('nan'), 3.0],
        's': ['a', None, 'c', 'd'],
        'flag': [True, False, True, False],
        'when': pd.to_datetime(['2021-01-01 10:00:00.123', '2021-01-02', None, '2021-01-04']),
        'day': [datetime.date(2021, 1, d) for d in (1, 2, 3, 4)],
    }, index=pd.Index([10, 20, 30, 40], name='trip'))
    df = df[df['flag'] | df['n'].isna()]
    gcs = GoogleCloudStorage.with_config(ConfigFileLoader(profile='default'))
    for key in ('t/frame.parquet', 't/frame.csv'):
        gcs.export(df, 'bucket-a', key)
    back = gcs.load('bucket-a', 't/frame.parquet')
    pd.testing.assert_frame_equal(back, df, check_dtype=True)
    print('PARQUET ROUND TRIP OK', back.index.name, back.index.tolist())
    csv = gcs.load('bucket-a', 't/frame.csv')
    print('CSV COLUMNS', list(csv.columns), len(csv))
    print('EXISTS', gcs.exists('bucket-a', 't/frame.csv'), gcs.exists('bucket-a', 't/frame'))
    gcs.export(df, 'bucket-a', 't/frame.data', format=FileFormat.JSON)
    js = gcs.load('bucket-a', 't/frame.data', format='json')
    print('JSON', len(js), list(js['s']))
    try:
        gcs.export(df, 'bucket-a', 't/frame.xlsx')
    except ValueError as e:
        print('XLSX', e)
    return back
)");
  ProcessResult r = Run("round_trip");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string log = Log("round_trip", "round_trip");
  EXPECT_THAT(log, HasSubstr("PARQUET ROUND TRIP OK trip [10, 20, 30]"));
  EXPECT_THAT(log, HasSubstr("CSV COLUMNS ['trip', 'n', 'x', 's', 'flag', 'when', 'day'] 3"));
  EXPECT_THAT(log, HasSubstr("EXISTS True False"));
  EXPECT_THAT(log, HasSubstr("JSON 3 ['a', None, 'c']"));
  EXPECT_THAT(log, HasSubstr("XLSX format 'xlsx' of 't/frame.xlsx' is not supported by Kiln"));
  EXPECT_TRUE(fs::is_regular_file(Object("bucket-a", "t/frame.parquet")));
}

TEST_F(CloudPythonTest, UploadedGzipCsvLoadsWithItsCompressionDetected) {
  const fs::path sample = TestDataDir() / "yellow_tripdata_2021-01.sample.csv.gz";
  OneBlock("gz", R"(
from mage_ai.io.config import ConfigFileLoader
from mage_ai.io.google_cloud_storage import GoogleCloudStorage

@data_loader
def load(*args, **kwargs):
    gcs = GoogleCloudStorage.with_config(ConfigFileLoader(profile='default'))
    gcs.export(')" + sample.string() +
                     R"(', 'bucket-a', 'raw/yellow.csv.gz')
    df = gcs.load('bucket-a', 'raw/yellow.csv.gz')
    print('ROWS', len(df), list(df.columns)[:2])
    return {}
)");
  ProcessResult r = Run("gz");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(ReadFile(Object("bucket-a", "raw/yellow.csv.gz")), sample_);
  EXPECT_THAT(Log("gz", "gz"), HasSubstr("ROWS " +
                                         KilnProject::Value("SELECT count(*) FROM read_csv('" +
                                                            sample.string() + "')") +
                                         " ['VendorID', 'tpep_pickup_datetime']"));
}

TEST_F(CloudPythonTest, MissingGcsObjectLoadsAsEmptyDataFrame) {
  fs::create_directories(cloud_.path() / "bucket-a");
  OneBlock("missing", R"(
from mage_ai.io.config import ConfigFileLoader
from mage_ai.io.google_cloud_storage import GoogleCloudStorage

@data_loader
def load(*args, **kwargs):
    df = GoogleCloudStorage.with_config(ConfigFileLoader(profile='default')).load(
        'bucket-a', 'nothing/here.parquet')
    print('EMPTY', df.empty, len(df.columns))
    return {'empty': bool(df.empty)}
)");
  ProcessResult r = Run("missing");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(Log("missing", "missing"), HasSubstr("EMPTY True 0"));
}

TEST_F(CloudPythonTest, S3ExportThenLoadRoundTripsAndMissingKeyRaisesNamingIt) {
  OneBlock("s3_trip", R"(
import os
import pandas as pd
from mage_ai.io.config import ConfigFileLoader
from mage_ai.io.s3 import S3
from mage_ai.settings.repo import get_repo_path

@data_loader
def load(*args, **kwargs):
    df = pd.DataFrame({'a': [1, 2, 3], 'b': ['x', 'y', 'z']})
    s3 = S3.with_config(ConfigFileLoader(profile='nokeys'))
    s3.export(df, 'bucket-s', 'data/part.parquet')
    back = s3.load('bucket-s', 'data/part.parquet')
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    print('S3 ROUND TRIP OK', len(back), s3.exists('bucket-s', 'data/'))
    raw = os.path.join(get_repo_path(), 'raw.csv')
    with open(raw, 'w') as f:
        f.write('a,b\n9,q\n')
    s3.export(raw, 'bucket-s', 'raw/as-is.csv')
    try:
        s3.load('bucket-s', 'data/missing.parquet')
    except Exception as e:
        print('MISSING', type(e).__name__, e)
    return back
)");
  ProcessResult r = Run("s3_trip");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string log = Log("s3_trip", "s3_trip");
  EXPECT_THAT(log, HasSubstr("S3 ROUND TRIP OK 3 True"));
  EXPECT_THAT(log, HasSubstr("no object 'data/missing.parquet' in bucket 'bucket-s'"));
  EXPECT_TRUE(fs::is_regular_file(Object("bucket-s", "data/part.parquet")));
  EXPECT_EQ(ReadFile(Object("bucket-s", "raw/as-is.csv")), "a,b\n9,q\n");
}

constexpr const char* kNoKeysBlock = R"(
import pandas as pd
from mage_ai.io.config import ConfigFileLoader
from mage_ai.io.google_cloud_storage import GoogleCloudStorage

@data_loader
def load(*args, **kwargs):
    gcs = GoogleCloudStorage.with_config(ConfigFileLoader(profile='nokeys'))
    gcs.export(pd.DataFrame({'a': [1]}), 'bucket-a', 'one.csv')
    return {'ok': True}
)";

TEST_F(CloudPythonTest, WithConfigWithoutKeysWarnsAndWorksInLocalMode) {
  OneBlock("nokeys", kNoKeysBlock);
  ProcessResult r = Run("nokeys");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out + r.err + Log("nokeys", "nokeys"),
              HasSubstr("without --local-cloud this block would fail: ValueError: No valid "
                        "configuration settings found for Google Cloud Storage"));
  EXPECT_EQ(ReadFile(Object("bucket-a", "one.csv")), "a\n1\n");
}

TEST_F(CloudPythonTest, WithoutSwitchOrKeysTheBlockFailsNamingTheKeysAndTheSwitch) {
  OneBlock("nokeys", kNoKeysBlock);
  ProcessResult r = Run("nokeys", /*local=*/false);
  EXPECT_NE(r.exit_code, 0);
  const std::string all = r.out + r.err + Log("nokeys", "nokeys");
  EXPECT_THAT(all, HasSubstr("ValueError: No valid configuration settings found for Google "
                             "Cloud Storage"));
  EXPECT_THAT(all, HasSubstr("GOOGLE_SERVICE_ACC_KEY_FILEPATH"));
  EXPECT_THAT(all, HasSubstr("--local-cloud DIR"));
}

TEST_F(CloudPythonTest, SeedPyarrowBlockWritesDayFoldersOf16And22286And1Rows) {
  SeedBlocks();
  project_.Write("data_exporters/taxi_to_gcs_partitioned_parquet.py",
                 ReadFile(TestDataDir() / "seed_python" / "taxi_to_gcs_partitioned_parquet.py"));
  SeedPipeline("api_to_gcs_partitioned", "taxi_to_gcs_partitioned_parquet");
  ProcessResult r = Run("api_to_gcs_partitioned");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const fs::path root = Object(kBucket, "nyc_taxi_data");
  std::map<std::string, std::string> counts;
  const std::regex name("[0-9a-f]{32}-0\\.parquet");
  for (const auto& day : fs::directory_iterator(root)) {
    std::vector<fs::path> files;
    for (const auto& f : fs::directory_iterator(day.path())) files.push_back(f.path());
    ASSERT_EQ(files.size(), 1u) << day.path();
    EXPECT_TRUE(std::regex_match(files[0].filename().string(), name)) << files[0];
    const std::string rp = "read_parquet('" + files[0].string() + "', hive_partitioning = false)";
    counts[day.path().filename().string()] = KilnProject::Value("SELECT count(*) FROM " + rp);
    EXPECT_EQ(KilnProject::Value("SELECT count(*) FROM (DESCRIBE SELECT * FROM " + rp +
                                 ") WHERE column_name = 'tpep_pickup_date'"),
              "0");
    EXPECT_EQ(KilnProject::Value("SELECT count(*) FROM (DESCRIBE SELECT * FROM " + rp +
                                 ") WHERE column_name = '__index_level_0__'"),
              "1");
  }
  EXPECT_EQ(counts, (std::map<std::string, std::string>{{"tpep_pickup_date=2020-12-31", "16"},
                                                        {"tpep_pickup_date=2021-01-01", "22286"},
                                                        {"tpep_pickup_date=2021-01-02", "1"}}));

  // pq.read_table of the dataset: every row, the partition column back from the folder names.
  OneBlock("read_back", R"(
import pyarrow.parquet as pq

@data_loader
def load(*args, **kwargs):
    df = pq.read_table('gs://mage-zoomcamp-evident-display-410312/nyc_taxi_data').to_pandas()
    print('READ', len(df), df.index.name, sorted(set(str(d)[:10] for d in df['tpep_pickup_date'])))
    return {}
)");
  r = Run("read_back");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(Log("read_back", "read_back"),
              HasSubstr("READ 22303 None ['2020-12-31', '2021-01-01', '2021-01-02']"));
}

TEST_F(CloudPythonTest, PyarrowWriteToDatasetOnALocalFolderPutsNullsInTheHiveDefault) {
  const fs::path out = cloud_.path() / "local" / "ds";
  OneBlock("local_ds", R"(
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

@data_loader
def load(*args, **kwargs):
    df = pd.DataFrame({'k': ['a', 'b', None, 'a'], 'v': [1, 2, 3, 4]})
    pq.write_to_dataset(pa.Table.from_pandas(df), root_path=')" +
                           out.string() + R"(', partition_cols=['k'])
    return {}
)");
  ProcessResult r = Run("local_ds");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::set<std::string> folders;
  for (const auto& d : fs::directory_iterator(out)) folders.insert(d.path().filename().string());
  EXPECT_EQ(folders, (std::set<std::string>{"k=a", "k=b", "k=__HIVE_DEFAULT_PARTITION__"}));
}

TEST_F(CloudPythonTest, PyarrowWriteToDatasetWithoutPartitionsAddsAFileInsideTheRootEachRun) {
  OneBlock("flat_ds", R"(
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

@data_loader
def load(*args, **kwargs):
    df = pd.DataFrame({'v': [1, 2, 3]})
    pq.write_to_dataset(pa.Table.from_pandas(df), root_path='bucket/flat',
                        filesystem=pa.fs.GcsFileSystem())
    return {}
)");
  for (int run = 0; run < 2; ++run) {
    ProcessResult r = Run("flat_ds");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  // As pyarrow: <root>/<guid>-0.parquet, a new file per run, never an object named "flat".
  const fs::path root = cloud_.path() / "bucket" / "flat";
  ASSERT_TRUE(fs::is_directory(root));
  int files = 0;
  for (const auto& f : fs::directory_iterator(root)) {
    EXPECT_THAT(f.path().filename().string(), ::testing::MatchesRegex("[0-9a-f]{32}-0\\.parquet"));
    ++files;
  }
  EXPECT_EQ(files, 2);
}

// -- the pyarrow stand-in ---------------------------------------------------------------------

using PyarrowShimTest = CloudPythonTest;

TEST_F(PyarrowShimTest, PandasStillHasNoParquetEngine) {
  OneBlock("engine", R"(
import pandas as pd
import pyarrow

@data_loader
def load(*args, **kwargs):
    print('VERSION', pyarrow.__version__)
    try:
        pd.DataFrame({'a': [1]}).to_parquet('/dev/null')
        print('TO_PARQUET WORKED')
    except ImportError as e:
        print('TO_PARQUET', e)
    return {}
)");
  ProcessResult r = Run("engine");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string log = Log("engine", "engine");
  EXPECT_THAT(log, HasSubstr("VERSION 0.0.0+kiln"));
  EXPECT_THAT(log, HasSubstr("Pandas requires version '1.0.1' or newer of 'pyarrow' (version "
                             "'0.0.0+kiln' currently installed)"));
}

TEST_F(PyarrowShimTest, UnsupportedNameSaysWhatTheStandInOffers) {
  OneBlock("unsupported", R"(
import pyarrow as pa

@data_loader
def load(*args, **kwargs):
    try:
        pa.array([1, 2])
    except AttributeError as e:
        print('ERROR', e)
    return {}
)");
  ProcessResult r = Run("unsupported");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(Log("unsupported", "unsupported"),
              HasSubstr("ERROR pyarrow.array is not in Kiln's pyarrow stand-in (Table.from_pandas, "
                        "fs.GcsFileSystem/S3FileSystem/LocalFileSystem, parquet.write_to_dataset/"
                        "write_table/read_table); put pyarrow in the project's python_venv"));
}

TEST_F(PyarrowShimTest, FromPandasKeepsNonRangeIndexAsIndexLevel0) {
  OneBlock("index", R"(
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

@data_loader
def load(*args, **kwargs):
    df = pd.DataFrame({'x': [1, 2, 3]})
    print('RANGE', pa.Table.from_pandas(df).column_names)
    filtered = pa.Table.from_pandas(df[df.x > 1])
    print('FILTERED', filtered.column_names, filtered.num_rows)
    pq.write_table(filtered, 'bucket-p/t.parquet', filesystem=pa.fs.GcsFileSystem())
    back = pq.read_table('gs://bucket-p/t.parquet').to_pandas()
    print('BACK', back.index.tolist(), back.x.tolist())
    return {}
)");
  ProcessResult r = Run("index");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string log = Log("index", "index");
  EXPECT_THAT(log, HasSubstr("RANGE ['x']"));
  EXPECT_THAT(log, HasSubstr("FILTERED ['x', '__index_level_0__'] 2"));
  EXPECT_THAT(log, HasSubstr("BACK [1, 2] [2, 3]"));
}

TEST_F(PyarrowShimTest, RealPyarrowEarlierOnSysPathWins) {
  // The project's folder is on sys.path before the stand-in, as a venv's site-packages is.
  project_.Write("pyarrow/__init__.py", "__version__ = '0.1.0+project'\n");
  OneBlock("real", R"(
import pyarrow

@data_loader
def load(*args, **kwargs):
    print('PYARROW', pyarrow.__version__)
    return {}
)");
  ProcessResult r = Run("real");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(Log("real", "real"), HasSubstr("PYARROW 0.1.0+project"));
  // It bypasses Kiln's stores, so the local-cloud switch does not cover it: said once.
  EXPECT_THAT(r.out + r.err, HasSubstr("this block uses pyarrow 0.1.0+project (" +
                                       (project_.root() / "pyarrow" / "__init__.py").string() +
                                       "), not Kiln's stand-in"));
}

}  // namespace
}  // namespace kiln::testing
