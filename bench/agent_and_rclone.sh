# Sourced by the benchmarks that compare the agent with rclone over one S3 server: starts
# s3s-fs (bucket "bench") and a release agent with a signed-in user and a cloud account on
# that server, and exports rclone's remote "s3" for the same server. Sets: work (files, in
# /dev/shm when it has room for NEED_MIB), data (the agent's data folder, on disk), api,
# token, account, s3_port, s3_pid, agent_pid. AGENT_CONFIG is appended to the agent's
# configuration; with AGENT_STORAGE=1 the agent serves its built-in storage on storage_port.
# Callers set `cleanup_extra` for their own cleanup.
source tests/require.sh
require rclone
s3s=target/tools/bin/s3s-fs
[ -x "$s3s" ] || cargo install -q s3s-fs@0.14.1 --features binary --locked --root target/tools
cargo build --release -q -p click-tokio

base=/dev/shm
[ "$(df -m --output=avail /dev/shm 2>/dev/null | tail -1)" -gt $((${NEED_MIB:-4096} + 512)) ] || base=${TMPDIR:-/tmp}
work=$(mktemp -d "$base/click-bench.XXXXXX")
# The agent's database stays on disk, where users keep it.
data=$(mktemp -d "${TMPDIR:-/tmp}/click-bench-data.XXXXXX")
cleanup_extra() { :; }
cleanup() { cleanup_extra; kill "${s3_pid:-}" "${agent_pid:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work" "$data"; }
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ak=BENCHACCESSKEY000001; sk=bench/secret/key/0123456789abcdefghijklmn
s3_port=$(port)
mkdir -p "$work/s3/bench" "$work/files"
"$s3s" --host 127.0.0.1 --port "$s3_port" --access-key "$ak" --secret-key "$sk" "$work/s3" > /dev/null 2>&1 &
s3_pid=$!
if [ "${AGENT_STORAGE:-}" = 1 ]; then
  storage_port=$(port)
  AGENT_CONFIG=$(printf '%s\n[storage]\nlisten = "127.0.0.1:%s"\n' "${AGENT_CONFIG:-}" "$storage_port")
fi
printf "[transfers]\nroots = [\"%s\"]\n%s\n" "$work/files" "${AGENT_CONFIG:-}" > "$work/agent.toml"
start_agent() {
  target/release/click-agent serve --listen 127.0.0.1:0 --data-dir "$data" --config "$work/agent.toml" > "$work/agent.out" 2> "$work/agent.err" &
  agent_pid=$!
  for _ in $(seq 100); do grep -q 'http://' "$work/agent.out" 2>/dev/null && break; sleep 0.1; done
  api=$(grep -m1 -o 'http://[0-9.:]*' "$work/agent.out")
}
start_agent

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# POSTs JSON with the token; on an error status, says why on stderr and fails.
post() {
  local out
  out=$(curl -s --fail-with-body -X POST "$api$1?token=$token" -H 'content-type: application/json' -d "$2") ||
    { echo "POST $1: $out" >&2; return 22; }
  echo "$out"
}
source bench/sign_in.sh
sign_in "$data/outbox"
account=$(post /cloud/insert_account "{\"name\":\"bench\",\"cloudType\":8,\"endpoint\":\"http://127.0.0.1:$s3_port\",\"accessKey\":\"$ak\",\"secretKey\":\"$sk\"}" | json '["id"]')

# An rclone S3 remote, from the environment: NAME (upper case) ENDPOINT ACCESS SECRET.
rclone_remote() {
  export "RCLONE_CONFIG_$1_TYPE=s3" "RCLONE_CONFIG_$1_PROVIDER=Other" "RCLONE_CONFIG_$1_ENV_AUTH=false"
  export "RCLONE_CONFIG_$1_ACCESS_KEY_ID=$3" "RCLONE_CONFIG_$1_SECRET_ACCESS_KEY=$4"
  export "RCLONE_CONFIG_$1_ENDPOINT=$2" "RCLONE_CONFIG_$1_REGION=us-east-1"
}
# rclone's remote "s3" on the same server; this machine's AWS_CA_BUNDLE breaks rclone.
rclone_remote S3 "http://127.0.0.1:$s3_port" "$ak" "$sk"
rclone() { env -u AWS_CA_BUNDLE rclone "$@"; }

# The files the benchmarks send: one of $1 MiB ($work/files/big.bin) and $2 of 16 KiB
# ($work/files/many/), random.
make_files() {
  head -c $(($1 * 1024 * 1024)) /dev/urandom > "$work/files/big.bin"
  mkdir -p "$work/files/many"
  python3 - "$work/files/many" "$2" <<'PY'
import os, sys
for i in range(int(sys.argv[2])):
    with open(os.path.join(sys.argv[1], f"f{i:05}.bin"), "wb") as f:
        f.write(os.urandom(16 * 1024))
PY
}

now() { date +%s.%N; }
# Polls a status route (a path under $api) until it says completed; fails on an end other.
wait_completed() {
  local status
  while :; do
    status=$(curl -sf "$api$1?token=$token" | json '["status"]')
    case $status in
      completed) return ;;
      failed|cancelled) echo "$1: $status" >&2; exit 1 ;;
    esac
    sleep 0.02
  done
}
# Runs an agent transfer and waits for it; prints seconds.
agent_transfer() { # path body
  local t0 id
  t0=$(now)
  id=$(post "$1" "$2" | json '["transferId"]')
  wait_completed "/cloud/client_transfer/$id/status"
  python3 -c "print($(now) - $t0)"
}
timed() { local t0; t0=$(now); "$@" > /dev/null; python3 -c "print($(now) - $t0)"; }
median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
