#include "kiln/project/skeleton.h"

#include <random>

#include "kiln/common/files.h"
#include "kiln/project/error.h"

namespace kiln::project {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFolders[] = {"charts",      "custom",       "data_exporters", "data_loaders",
                                    "dbt",         "extensions",   "interactions",   "pipelines",
                                    "scratchpads", "transformers", "utils"};

std::string ProjectUuid() {
  std::random_device rd;
  std::mt19937_64 rng(rd());
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

std::string Metadata() {
  return "project_type: standalone\n"
         "\n"
         "# Where block outputs (Parquet) and logs go. An absolute folder gets the project name\n"
         "# appended; a relative one is inside the project. MAGE_DATA_DIR overrides it.\n"
         "variables_dir: ~/.mage_data\n"
         "# remote_variables_dir: s3://bucket/path_prefix\n"
         "variables_retention_period: '90d'\n"
         "\n"
         "# Project-wide retries for every block (a block's own retry_config wins).\n"
         "# retry_config:\n"
         "#   retries: 2\n"
         "#   delay: 5\n"
         "#   max_delay: 60\n"
         "#   exponential_backoff: true\n"
         "\n"
         "notification_config:\n"
         "  alert_on:\n"
         "  - trigger_failure\n"
         "  - trigger_passed_sla\n"
         "project_uuid: " +
         ProjectUuid() + "\n";
}

constexpr const char* kIoConfig = R"(version: 0.1.1
default:
  # DuckDB: the warehouse file SQL blocks run in (relative paths are inside the project).
  DUCKDB_DATABASE: warehouse.duckdb
  DUCKDB_SCHEMA: main
  # PostgreSQL
  POSTGRES_CONNECT_TIMEOUT: 10
  POSTGRES_DBNAME: postgres
  POSTGRES_SCHEMA: public
  POSTGRES_USER: username
  POSTGRES_PASSWORD: password
  POSTGRES_HOST: hostname
  POSTGRES_PORT: 5432
  # Google (a service-account key file, or the key itself as GOOGLE_SERVICE_ACC_KEY)
  GOOGLE_SERVICE_ACC_KEY_FILEPATH: "/path/to/your/service/account/key.json"
  GOOGLE_LOCATION: US
  # AWS / S3-compatible storage
  AWS_ACCESS_KEY_ID: "{{ env_var('AWS_ACCESS_KEY_ID') }}"
  AWS_SECRET_ACCESS_KEY: "{{ env_var('AWS_SECRET_ACCESS_KEY') }}"
  AWS_REGION: us-east-1
)";

constexpr const char* kGitignore = R"(.DS_Store
.file_versions
.gitkeep
.log
.logs/
.preferences.yaml
.variables/
__pycache__/
docker-compose.override.yml
logs/
mage-ai.db
mage_data/
secrets/
.kiln/
warehouse.duckdb
warehouse.duckdb.wal
)";

constexpr const char* kExamplePipeline = R"(name: example_pipeline
uuid: example_pipeline
type: python
description: An example to start from; runs offline (kiln run <project> example_pipeline)
variables:
  min_age: 18
blocks:
- uuid: load_example_data
  type: data_loader
  language: sql
  upstream_blocks: []
  downstream_blocks: [fill_in_missing_values]
  configuration:
    use_raw_sql: true
- uuid: fill_in_missing_values
  type: transformer
  language: sql
  upstream_blocks: [load_example_data]
  downstream_blocks: [export_example_data]
  configuration:
    use_raw_sql: true
- uuid: export_example_data
  type: data_exporter
  language: sql
  upstream_blocks: [fill_in_missing_values]
  downstream_blocks: []
  configuration:
    data_provider: duckdb
    data_provider_profile: default
    data_provider_schema: example
    data_provider_table: people
    export_write_policy: replace
widgets: []
)";

constexpr const char* kLoader =
    R"(-- A data loader: any DuckDB query. read_csv / read_parquet / read_json take local paths or
-- http(s) URLs, e.g. SELECT * FROM read_csv('https://example.com/data.csv.gz')
SELECT *
FROM (VALUES (1, 'Ada', 36), (2, 'Grace', NULL), (3, 'Linus', 28), (4, 'Margaret', 17))
  AS people(id, name, age)
)";

constexpr const char* kTransformer =
    R"(-- A transformer: {{ df_1 }} is the output of the first upstream block.
SELECT id, name, coalesce(age, (SELECT round(avg(age)) FROM {{ df_1 }})::INTEGER) AS age,
       coalesce(age, 0) >= {{ min_age }} AS adult
FROM {{ df_1 }}
)";

constexpr const char* kExporter =
    R"(-- A data exporter: the result is written to the warehouse table example.people
-- (data_provider_schema / data_provider_table / export_write_policy in the pipeline file).
SELECT * FROM {{ df_1 }}
)";

}  // namespace

std::vector<fs::path> CreateProjectSkeleton(const fs::path& root) {
  std::error_code ec;
  if (fs::exists(root) && !(fs::is_directory(root) && fs::is_empty(root, ec))) {
    throw ProjectError(root.string() +
                       ": already exists and is not empty; kiln init creates a "
                       "new project folder");
  }
  std::vector<std::pair<fs::path, std::string>> files = {
      {"__init__.py", ""},
      {"metadata.yaml", Metadata()},
      {"io_config.yaml", kIoConfig},
      {"requirements.txt", ""},
      {".gitignore", kGitignore},
      {"pipelines/example_pipeline/__init__.py", ""},
      {"pipelines/example_pipeline/metadata.yaml", kExamplePipeline},
      {"data_loaders/load_example_data.sql", kLoader},
      {"transformers/fill_in_missing_values.sql", kTransformer},
      {"data_exporters/export_example_data.sql", kExporter},
  };
  for (const char* folder : kFolders) files.emplace_back(fs::path(folder) / "__init__.py", "");
  std::vector<fs::path> written;
  try {
    for (const auto& [relative, content] : files) {
      WriteFileAtomic(root / relative, content);
      written.push_back(relative);
    }
  } catch (const FileError& e) {
    throw ProjectError(e.what());
  }
  return written;
}

}  // namespace kiln::project
