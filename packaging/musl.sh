#!/usr/bin/env bash
# Builds click-agent fully static for x86_64-unknown-linux-musl (a release build, or the
# debug one with --dev) and checks it: no dynamic libraries, and it starts, answers and
# stops on a machine's bare kernel interface. The program:
# target/x86_64-unknown-linux-musl/<release|debug>/click-agent.
set -euo pipefail
cd "$(dirname "$0")/.."
triple=x86_64-unknown-linux-musl
profile=release
[ "${1:-}" = --dev ] && profile=dev
out=$([ "$profile" = dev ] && echo debug || echo release)
fail() { echo "static build: $*" >&2; exit 1; }

rustup target add "$triple" >/dev/null
# ring's C and assembly are compiled for musl with musl-gcc (Debian's musl-tools).
command -v musl-gcc >/dev/null || { apt-get update -qq && apt-get install -y -qq musl-tools; }
cargo build -p click-tokio --bin click-agent --target "$triple" --profile "$profile"
bin="${CARGO_TARGET_DIR:-target}/$triple/$out/click-agent"

ldd "$bin" 2>&1 | grep -Eq "not a dynamic executable|statically linked" ||
  fail "$bin links to shared libraries: $(ldd "$bin" 2>&1)"
"$bin" routes | grep -q "/management/agent_status" || fail "routes does not list the API"

data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
port=29178
"$bin" serve --listen "127.0.0.1:$port" --data-dir "$data" 2>"$data/log" &
pid=$!
status() {
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET /management/agent_status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
  cat <&3
  exec 3<&-
}
for _ in $(seq 100); do status >/dev/null 2>&1 && break; sleep 0.1; done
status | grep -q '^HTTP/1.1 200' || { cat "$data/log"; fail "the static agent does not answer"; }
kill -TERM "$pid"
code=0; wait "$pid" || code=$?
[ "$code" = 0 ] || { cat "$data/log"; fail "the static agent stopped with $code"; }
echo "static build: $bin is static, answers and stops cleanly ($(du -h "$bin" | cut -f1))"
