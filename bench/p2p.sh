#!/usr/bin/env bash
# A P2P transfer between two agents' built-in storage on loopback against `rclone copyto`
# between the same two S3 endpoints, in the same run:
#   bench/p2p.sh [ROUNDS] [SIZE_MIB]   (default 3 rounds, 1024 MiB)
# Agent A keeps the object and orchestrates; agent B is the target. The P2P transfer has A
# push the object straight to B's storage; rclone reads it from A's storage and writes it to
# B's (through itself). Each row alternates the two ROUNDS times and reports medians; the
# first copy of each is compared byte for byte. Needs rclone, curl and python3. Prints a
# Markdown report on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
size_mib=${2:-1024}
NEED_MIB=$((size_mib * 2))
AGENT_STORAGE=1
source bench/agent_and_rclone.sh
a_api=$api a_token=$token a_pid=$agent_pid a_port=$storage_port

# Agent B, the target, with a storage of its own.
b_port=$(port)
b_data=$(mktemp -d "${TMPDIR:-/tmp}/click-bench-b.XXXXXX")
printf '[storage]\nlisten = "127.0.0.1:%s"\n' "$b_port" > "$b_data/agent.toml"
target/release/click-agent serve --listen 127.0.0.1:0 --data-dir "$b_data/data" --config "$b_data/agent.toml" > "$b_data/out" 2> "$b_data/err" &
b_pid=$!
cleanup_extra() { kill "$b_pid" 2>/dev/null || true; rm -rf "$b_data"; }
for _ in $(seq 100); do grep -q 'http://' "$b_data/out" 2>/dev/null && break; sleep 0.1; done
api=$(grep -m1 -o 'http://[0-9.:]*' "$b_data/out")
sign_in "$b_data/data/outbox"
b_api=$api b_token=$token

# On each: its storage as a cloud account (bucket "bench") and a key reaching every bucket.
storage_key() { # prints "cloud-id access secret"
  local cloud key
  cloud=$(post /cloud/add_storage '{"cloudAccountName":"bench","bucketName":"bench","shared":false}' | json '["id"]')
  key=$(post /storage/create_storage_key "{\"name\":\"bench\",\"permission\":2,\"allBuckets\":true,\"selectedBuckets\":[],\"cloudAccountId\":\"$cloud\"}")
  echo "$cloud $(echo "$key" | json '["accessKey"]') $(echo "$key" | json '["secretKey"]')"
}
read -r _ b_access b_secret < <(storage_key)
api=$a_api token=$a_token
read -r _ a_access a_secret < <(storage_key)
rclone_remote SA "http://127.0.0.1:$a_port" "$a_access" "$a_secret"
rclone_remote SB "http://127.0.0.1:$b_port" "$b_access" "$b_secret"
# A, the orchestrator, reaches B's storage through a FastrServer account.
to_b=$(post /cloud/insert_account "{\"name\":\"b\",\"cloudType\":4096,\"endpoint\":\"http://127.0.0.1:$b_port\",\"accessKey\":\"$b_access\",\"secretKey\":\"$b_secret\"}" | json '["id"]')

make_files "$size_mib" 0
rclone copyto "$work/files/big.bin" sa:bench/big.bin

p2p() { # target key; prints seconds
  local t0 id body
  body=$(python3 - "$a_port" "$a_access" "$a_secret" "$to_b" "$b_port" "$1" <<'PY'
import json, sys
a_port, access, secret, to_b, b_port, key = sys.argv[1:]
print(json.dumps({
    "sourceAccount": {"id": "00000000-0000-0000-0000-000000000000", "cloudType": 2048,
                      "serviceUrl": f"http://127.0.0.1:{a_port}", "accessKey": access, "secretKey": secret},
    "targetAccount": {"id": to_b},
    "sourceBucket": "bench", "sourcePath": "big.bin",
    "targetServerUrl": f"http://127.0.0.1:{b_port}", "targetBucket": "bench", "targetPath": key,
    "overwrite": True, "chunkSizeMB": 64}))
PY
)
  t0=$(now)
  id=$(post /cloud/p2p_transfer/initiate "$body" | json '["transferId"]')
  wait_completed "/cloud/p2p_transfer/$id/status"
  python3 -c "print($(now) - $t0)"
}

declare -a pp rc
for r in $(seq "$rounds"); do
  pp+=("$(p2p "p2p-$r.bin")")
  rc+=("$(timed rclone copyto "sa:bench/big.bin" "sb:bench/rclone-$r.bin")")
  if [ "$r" = 1 ]; then
    rclone cat sb:bench/p2p-1.bin | cmp - "$work/files/big.bin"
    rclone cat sb:bench/rclone-1.bin | cmp - "$work/files/big.bin"
  fi
  rclone deletefile "sb:bench/p2p-$r.bin"
  rclone deletefile "sb:bench/rclone-$r.bin"
done
hwm() { echo $(( $(awk '/VmHWM/ {print $2}' "/proc/$1/status") / 1024 )); }

mb() { python3 -c "print(round($size_mib * 1.048576 / $1, 1))"; }
m_pp=$(median "${pp[@]}"); m_rc=$(median "${rc[@]}")
cat <<EOF2
| agent to agent ($rounds rounds, medians, rclone $(rclone version | sed -n 1p | awk '{print $2}')) | P2P transfer | rclone copyto A -> B | P2P / rclone |
|---|---|---|---|
| ${size_mib} MiB | $(mb "$m_pp") MB/s | $(mb "$m_rc") MB/s | $(python3 -c "print(f'{$m_rc / $m_pp:.2f}')") |

Peak RSS (VmHWM) over the run: agent A (source, orchestrator) $(hwm "$a_pid") MiB, agent B
(target) $(hwm "$b_pid") MiB. Both agents' storage on ${TMPDIR:-/tmp}; 64 MiB parts for the
P2P transfer, rclone on its defaults.
EOF2
