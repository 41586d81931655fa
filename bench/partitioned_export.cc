// bench/partitioned_export.cc: Kiln's partitioned Parquet export to the local cloud stand-in
// (ExportDataset onto OpenObjectStore("gs") with --local-cloud semantics: COPY to a staging
// folder, one all-or-nothing publish per file, listing) against DuckDB's own
// COPY ... (FORMAT parquet, PARTITION_BY ...) of the same query, in the same process and DuckDB
// instance, alternating, best of N.
//   partitioned_export CSV_GZ WORK_DIR [REPEAT]
// Prints one JSON line.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "kiln/common/names.h"
#include "kiln/connectors/cloud/open.h"
#include "kiln/connectors/object_store/dataset_export.h"
#include "kiln/data/duckdb.h"

namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: partitioned_export CSV_GZ WORK_DIR [REPEAT]\n");
    return 2;
  }
  const fs::path work = argv[2];
  const int repeat = argc > 3 ? std::stoi(argv[3]) : 3;
  try {
    fs::create_directories(work);
    kiln::data::Database db;
    kiln::data::Connection conn(db);
    // What an exporter reads: the month as Parquet with the bad rows dropped (untimed).
    const fs::path month = work / "month.parquet";
    conn.Execute("COPY (SELECT * FROM read_csv(" + kiln::QuoteLiteral(argv[1]) +
                 ", header = true) WHERE passenger_count > 0) TO " +
                 kiln::QuoteLiteral(month.string()) + " (FORMAT parquet)");
    const std::string query =
        "(SELECT *, CAST(tpep_pickup_datetime AS DATE) AS tpep_pickup_date FROM read_parquet(" +
        kiln::QuoteLiteral(month.string()) + "))";

    kiln::connectors::CloudServices services;
    services.mode.local_root = work / "cloud";
    std::unique_ptr<kiln::connectors::ObjectStore> store =
        kiln::connectors::OpenObjectStore("gs", std::monostate{}, services);
    kiln::connectors::DatasetOptions options;
    options.partition_cols = {"tpep_pickup_date"};
    options.existing = kiln::connectors::DatasetOptions::Existing::kReplaceAll;

    double anchor_best = 1e9, kiln_best = 1e9;
    uint64_t rows = 0;
    size_t partitions = 0;
    for (int i = 0; i < repeat; ++i) {
      const fs::path anchor_dir = work / "anchor";
      fs::remove_all(anchor_dir);
      auto start = Clock::now();
      conn.Execute("COPY " + query + " TO " + kiln::QuoteLiteral(anchor_dir.string()) +
                   " (FORMAT parquet, PARTITION_BY (tpep_pickup_date))");
      anchor_best = std::min(anchor_best, Seconds(start));

      start = Clock::now();
      kiln::connectors::DatasetResult result =
          kiln::connectors::ExportDataset(conn, query, *store, "bench", "nyc_taxi_data", options);
      kiln_best = std::min(kiln_best, Seconds(start));
      rows = result.rows;
      partitions = result.objects.size();
    }
    std::printf(
        "{\"bench\":\"partitioned_export\",\"rows\":%llu,\"partitions\":%zu,\"anchor_s\":%.3f,"
        "\"kiln_s\":%.3f,\"ratio\":%.3f,\"target\":1.2}\n",
        static_cast<unsigned long long>(rows), partitions, anchor_best, kiln_best,
        kiln_best / anchor_best);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "partitioned_export: %s\n", e.what());
    return 1;
  }
  return 0;
}
