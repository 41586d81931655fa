#!/usr/bin/env bash
# A throwaway PostgreSQL server for `make run` and the benchmarks (the tests use their own,
# tests/support/postgres_server.h): a new cluster in DIR on a free loopback port, stopped and
# removed by `stop`. As root, the server runs as the `postgres` user (initdb refuses root).
#   scripts/pg_sandbox.sh start DIR   -> prints `export POSTGRES_...=...` lines for the dev profile
#   scripts/pg_sandbox.sh stop DIR
set -euo pipefail
cmd=${1:?usage: pg_sandbox.sh start|stop DIR}
dir=${2:?usage: pg_sandbox.sh start|stop DIR}
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x "$pgbin/initdb" ]] || { echo "pg_sandbox: PostgreSQL server binaries not found (run scripts/setup.sh)" >&2; exit 1; }
as_owner() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$cmd" in
  start)
    mkdir -p "$dir"
    if [[ $(id -u) -eq 0 ]]; then
      chown postgres: "$dir"
      runuser -u postgres -- test -w "$dir" || {
        echo "pg_sandbox: the postgres user cannot write $dir (is a parent folder private?)" >&2; exit 1; }
    fi
    password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
    echo "$password" > "$dir/pwfile"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir/pwfile"
    chmod 600 "$dir/pwfile"
    as_owner "$pgbin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
      --auth-host=scram-sha-256 --auth-local=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null || { tail -n 20 "$dir/server.log" >&2; exit 1; }
    echo "$port" > "$dir/port"
    cat <<ENV
export POSTGRES_HOST=127.0.0.1
export POSTGRES_PORT=$port
export POSTGRES_USER=postgres
export POSTGRES_PASSWORD=$password
export POSTGRES_DBNAME=postgres
export POSTGRES_SCHEMA=public
ENV
    ;;
  stop)
    if [[ -d "$dir/data" ]]; then
      as_owner "$pgbin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 \
        || as_owner "$pgbin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *) echo "usage: pg_sandbox.sh start|stop DIR" >&2; exit 2 ;;
esac
