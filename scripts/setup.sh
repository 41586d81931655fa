#!/usr/bin/env bash
# Installs what building and testing Kiln needs, idempotently, on Debian 12:
#   1. the Debian packages listed below (only the missing ones; apt-get update only when needed);
#   2. DuckDB 1.4.4: libduckdb.so from the npm package @duckdb/node-bindings-linux-x64@1.4.4-r.4
#      and duckdb.h from the duckdb@1.4.4 npm tarball, both checked against pinned SHA-256 sums
#      and cached outside the build tree in $KILN_CACHE_DIR (default ~/.cache/kiln);
#   3. s3rver 3.7.1, the S3 server the S3 integration tests run on loopback, with `npm ci` from
#      tests/support/s3rver/package-lock.json into $KILN_CACHE_DIR/s3rver-3.7.1.
# Prints the DuckDB folder (holding include/duckdb.h and lib/libduckdb.so) as its last line.
#
# usage: scripts/setup.sh [--no-apt]
set -euo pipefail

DUCKDB_VERSION=1.4.4
BINDINGS_PKG="@duckdb/node-bindings-linux-x64@1.4.4-r.4"
BINDINGS_TGZ="duckdb-node-bindings-linux-x64-1.4.4-r.4.tgz"
BINDINGS_SHA256="732fac4dc6b8f198870b9c4bb6ddf13544466daca00ad28ba2f1d80de5d7aa4b"
HEADER_PKG="duckdb@1.4.4"
HEADER_TGZ="duckdb-1.4.4.tgz"
HEADER_SHA256="5bb967dcbcd517670ba5f169f238fb9d6787e53752c60ebe24386169d76941ed"
S3RVER_VERSION=3.7.1
S3RVER_PIN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/support/s3rver"

# Build tools and libraries (Debian 12 names). Keep sorted; docs/development.md explains each.
APT_PACKAGES=(
  build-essential ca-certificates clang-format cmake g++ gzip libcli11-dev libcpp-httplib-dev
  libcurl4-openssl-dev libfmt-dev libgmock-dev libgtest-dev libpq-dev libpugixml-dev libspdlog-dev libsqlite3-dev libssl-dev
  libyaml-cpp-dev make nlohmann-json3-dev nodejs npm pkg-config postgresql postgresql-client
  pybind11-dev python3 python3-botocore python3-dev python3-numpy python3-pandas python3-psycopg2 python3-requests
  zlib1g-dev
)

log() { printf 'setup: %s\n' "$*" >&2; }

install_apt_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      # npm ships inside Debian's nodejs on some images; accept a working npm command.
      if [[ "$p" == npm ]] && command -v npm >/dev/null; then continue; fi
      if [[ "$p" == nodejs ]] && command -v node >/dev/null; then continue; fi
      missing+=("$p")
    fi
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { log "missing packages ${missing[*]} and no sudo: install them as root"; exit 1; }
    sudo=(sudo)
  fi
  log "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# fetch_npm_tarball PKG FILE SHA256 DIR: leaves DIR/FILE, verified, or fails.
fetch_npm_tarball() {
  local pkg=$1 file=$2 sum=$3 dir=$4
  if [[ -f "$dir/$file" ]] && echo "$sum  $dir/$file" | sha256sum -c --status; then return 0; fi
  log "downloading $pkg from the npm registry"
  local tmp
  tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null 2>&1) || { rm -rf "$tmp"; log "npm pack $pkg failed"; exit 1; }
  if ! echo "$sum  $tmp/$file" | sha256sum -c --status; then
    log "checksum mismatch for $pkg ($file): expected $sum, got $(sha256sum "$tmp/$file" | cut -d' ' -f1)"
    rm -rf "$tmp"; exit 1
  fi
  mv "$tmp/$file" "$dir/$file"
  rm -rf "$tmp"
}

install_duckdb() {
  local cache=${KILN_CACHE_DIR:-$HOME/.cache/kiln}
  local dest="$cache/duckdb-$DUCKDB_VERSION"
  if [[ -f "$dest/.complete" ]]; then echo "$dest"; return 0; fi
  mkdir -p "$cache/npm"
  fetch_npm_tarball "$BINDINGS_PKG" "$BINDINGS_TGZ" "$BINDINGS_SHA256" "$cache/npm"
  fetch_npm_tarball "$HEADER_PKG" "$HEADER_TGZ" "$HEADER_SHA256" "$cache/npm"
  local stage
  stage=$(mktemp -d "$cache/.duckdb.XXXXXX")
  mkdir -p "$stage/include" "$stage/lib"
  tar -xzf "$cache/npm/$BINDINGS_TGZ" -C "$stage" package/libduckdb.so
  tar -xzf "$cache/npm/$HEADER_TGZ" -C "$stage" package/src/duckdb/src/include/duckdb.h
  mv "$stage/package/libduckdb.so" "$stage/lib/"
  mv "$stage/package/src/duckdb/src/include/duckdb.h" "$stage/include/"
  rm -rf "$stage/package"
  touch "$stage/.complete"
  rm -rf "$dest"
  mv "$stage" "$dest"   # atomic: a half-extracted folder is never taken for a complete one
  log "DuckDB $DUCKDB_VERSION ready in $dest"
  echo "$dest"
}

# s3rver for the S3 tests (tests/support/s3rver_server.h): `npm ci` of the pinned lock file into
# a staging folder, renamed into place when complete. Reinstalled when the pin files change.
install_s3rver() {
  local cache=${KILN_CACHE_DIR:-$HOME/.cache/kiln}
  local dest="$cache/s3rver-$S3RVER_VERSION"
  local pin
  pin=$(cat "$S3RVER_PIN_DIR/package.json" "$S3RVER_PIN_DIR/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [[ -f "$dest/.complete" ]] && [[ "$(cat "$dest/.complete")" == "$pin" ]]; then return 0; fi
  mkdir -p "$cache"
  local stage
  stage=$(mktemp -d "$cache/.s3rver.XXXXXX")
  cp "$S3RVER_PIN_DIR/package.json" "$S3RVER_PIN_DIR/package-lock.json" "$stage/"
  log "installing s3rver $S3RVER_VERSION from the npm registry"
  if ! npm ci --prefix "$stage" --no-audit --no-fund --loglevel=error >/dev/null; then
    rm -rf "$stage"; log "npm ci of s3rver $S3RVER_VERSION failed"; exit 1
  fi
  echo "$pin" >"$stage/.complete"
  rm -rf "$dest"
  mv "$stage" "$dest"
  log "s3rver $S3RVER_VERSION ready in $dest"
}

main() {
  if [[ "${1:-}" != "--no-apt" ]]; then install_apt_packages; fi
  install_s3rver
  install_duckdb
}
main "$@"
