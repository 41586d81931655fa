// bench/duckdb_anchor.cc: DuckDB alone, as the anchor Kiln's benchmarks are compared with.
//   duckdb_anchor read_csv FILE         -> SELECT count(*) FROM read_csv(FILE) WHERE
//   passenger_count > 0 duckdb_anchor pipeline FILE DB_FILE -> the api_to_warehouse job in one
//   statement: read, filter,
//                                          CREATE TABLE ny_taxi.yellow_taxi_data in DB_FILE
// Prints the row count on stdout.
#include <cstdio>
#include <string>

#include "kiln/common/names.h"
#include "kiln/data/duckdb.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: duckdb_anchor read_csv FILE | pipeline FILE DB_FILE\n");
    return 2;
  }
  std::string mode = argv[1];
  std::string source = "read_csv(" + kiln::QuoteLiteral(argv[2]) + ", header = true)";
  try {
    if (mode == "read_csv") {
      kiln::data::Database db;
      kiln::data::Connection conn(db);
      auto r = conn.Query("SELECT count(*) FROM " + source + " WHERE passenger_count > 0");
      std::printf("%s\n", r.GetString(0, 0).value_or("0").c_str());
    } else if (mode == "pipeline" && argc == 4) {
      kiln::data::Database db(argv[3]);
      kiln::data::Connection conn(db);
      conn.Execute("CREATE SCHEMA IF NOT EXISTS ny_taxi");
      auto r = conn.Query("CREATE OR REPLACE TABLE ny_taxi.yellow_taxi_data AS SELECT * FROM " +
                          source + " WHERE passenger_count > 0");
      std::printf("%s\n", r.GetString(0, 0).value_or("0").c_str());
    } else {
      std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "duckdb_anchor: %s\n", e.what());
    return 1;
  }
  return 0;
}
