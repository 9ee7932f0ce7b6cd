# Sourced by scripts that need a PostgreSQL server: `start_postgres` starts a throwaway cluster
# of Debian's postgresql (installed when missing, as root) on a free loopback port, fsync off,
# sets PG_URL to its server URL (postgres://click@127.0.0.1:PORT, no database) and removes it
# when the script exits. PostgreSQL refuses to run as root: as root, the cluster belongs to
# the postgres user.
source "$(dirname "${BASH_SOURCE[0]}")/require.sh"

start_postgres() {
  require psql postgresql
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$bin" ] && [ -x "$bin/initdb" ] || require /usr/lib/postgresql/15/bin/initdb postgresql
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  PG_DIR=$(mktemp -d)
  PG_AS_OWNER=()
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$PG_DIR"
    PG_AS_OWNER=(runuser -u postgres --)
  fi
  PG_BIN=$bin
  trap stop_postgres EXIT
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${PG_AS_OWNER[@]}" "$bin/initdb" -D "$PG_DIR/cluster" -A trust -U click --no-sync -E UTF8 >/dev/null
  "${PG_AS_OWNER[@]}" "$bin/pg_ctl" -D "$PG_DIR/cluster" -l "$PG_DIR/server.log" -w start -o \
    "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" >/dev/null
  PG_URL="postgres://click@127.0.0.1:$port"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
}

stop_postgres() {
  "${PG_AS_OWNER[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/cluster" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
