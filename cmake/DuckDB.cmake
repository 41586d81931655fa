# DuckDB 1.4.4 as delivered by scripts/setup.sh: DUCKDB_ROOT holds include/duckdb.h and
# lib/libduckdb.so (pinned npm tarballs, checksummed). Defines the imported target duckdb::duckdb
# and links the shared library next to the binaries, which find it through RPATH $ORIGIN.
if(NOT DUCKDB_ROOT)
  if(DEFINED ENV{KILN_CACHE_DIR})
    set(DUCKDB_ROOT "$ENV{KILN_CACHE_DIR}/duckdb-1.4.4")
  else()
    set(DUCKDB_ROOT "$ENV{HOME}/.cache/kiln/duckdb-1.4.4")
  endif()
endif()
set(DUCKDB_INCLUDE_DIR "${DUCKDB_ROOT}/include")
set(DUCKDB_LIBRARY "${DUCKDB_ROOT}/lib/libduckdb.so")
if(NOT EXISTS "${DUCKDB_INCLUDE_DIR}/duckdb.h" OR NOT EXISTS "${DUCKDB_LIBRARY}")
  message(FATAL_ERROR "DuckDB not found in ${DUCKDB_ROOT}: run scripts/setup.sh (make setup) first")
endif()
add_library(duckdb::duckdb SHARED IMPORTED)
set_target_properties(duckdb::duckdb PROPERTIES
  IMPORTED_LOCATION "${DUCKDB_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${DUCKDB_INCLUDE_DIR}")
file(CREATE_LINK "${DUCKDB_LIBRARY}" "${CMAKE_BINARY_DIR}/libduckdb.so" SYMBOLIC)
