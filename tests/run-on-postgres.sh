#!/usr/bin/env bash
# Runs the black-box tests with every desktop agent keeping its state in PostgreSQL instead of
# its redb file: a throwaway cluster (Debian's postgresql) is started on a free loopback port,
# each agent gets a database of its own there (tests/src/postgres.rs, CLICK_TEST_POSTGRES),
# and the cluster is removed afterwards. Needs root or the postgres package's user only to
# start the cluster; installs postgresql when missing (as root).
#   tests/run-on-postgres.sh [cargo test arguments, e.g. --no-fail-fast, --test users]
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/require.sh
require psql postgresql
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
[ -x "$bin/initdb" ] || require "$bin/initdb" postgresql

tmp=$(mktemp -d)
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres:postgres "$tmp"
  as_owner=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
stop() {
  "${as_owner[@]}" "$bin/pg_ctl" -D "$tmp/cluster" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap stop EXIT
"${as_owner[@]}" "$bin/initdb" -D "$tmp/cluster" -A trust -U click --no-sync -E UTF8 >/dev/null
"${as_owner[@]}" "$bin/pg_ctl" -D "$tmp/cluster" -l "$tmp/server.log" -w start -o \
  "-p $port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" >/dev/null
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2

cargo build -q -p click-tokio
CLICK_TEST_POSTGRES="postgres://click@127.0.0.1:$port" cargo test -q -p click-blackbox "$@"
