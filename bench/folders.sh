#!/usr/bin/env bash
# A LocalPath drive (a folder in two-way sync) against rclone on the same S3 server:
#   bench/folders.sh [FILES] [BIG_MIB]   # default 1000 256
# Rows: the first sync of a folder of FILES files of 4 KiB in 10 folders and one BIG_MIB file
# (timed until the bucket holds every one) against `rclone copy` of the same folder; 10 of
# the small files edited (until the bucket has the edits: the agent's watcher wakes it)
# against `rclone copy` again; FILES objects new in the bucket brought down (after
# `clouddrive/sync`) against `rclone copy` from the bucket. Each tool has its own bucket
# (s3s-fs scans a whole bucket for each listing page). Needs rclone, curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-1000}
big_mib=${2:-256}
NEED_MIB=$((big_mib * 6))
source bench/agent_and_rclone.sh

folder=$work/files/synced
mkdir -p "$work/s3/abench" "$work/s3/rbench" "$work/rdown"
python3 - "$folder" "$files" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = f"{root}/d{i % 10}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/f{i:05}.txt", "wb") as f:
        f.write(os.urandom(4096))
PY
head -c $((big_mib * 1024 * 1024)) /dev/urandom > "$folder/big.bin"
total=$((files + 1))

# Files (not folders) under a bucket's directory of s3s-fs, optionally under a prefix.
count() { find "$work/s3/$1" -type f -not -name '*.json' -not -path '*/.*' | wc -l; }
until_count() { # bucket count: waits, prints seconds since $t0
  for _ in $(seq 6000); do [ "$(count "$1")" -ge "$2" ] && break; sleep 0.05; done
  python3 -c "print($(now) - $t0)"
}

t0=$(now)
drive=$(post /management/clouddrive "{\"name\":\"synced\",\"storageName\":\"abench\",\"prefix\":\"\",\"driveName\":\"S\",\"driveType\":2,\"syncType\":1,\"permissionType\":2,\"allowDelete\":true,\"maximumCacheSize\":0,\"syncIntervalSeconds\":10,\"localPath\":\"$folder\",\"permanentLocalPath\":\"\$\$\$\",\"account\":{\"id\":\"$account\"}}" | json '["id"]')
a_first=$(until_count abench "$total")
r_first=$(timed rclone copy "$folder" s3:rbench)
cmp "$folder/big.bin" "$work/s3/abench/big.bin"

# Ten edits: the agent sees them through its watcher.
sleep 1
t0=$(now)
for i in $(seq 0 9); do head -c 4096 /dev/urandom > "$folder/d$i/f0000$i.txt"; done
until_edited() {
  for _ in $(seq 6000); do
    local done=0
    for i in $(seq 0 9); do cmp -s "$folder/d$i/f0000$i.txt" "$work/s3/abench/d$i/f0000$i.txt" && done=$((done + 1)); done
    [ "$done" -eq 10 ] && break
    sleep 0.05
  done
  python3 -c "print($(now) - $t0)"
}
a_edit=$(until_edited)
r_edit=$(timed rclone copy "$folder" s3:rbench)

# New objects in the bucket come down.
mkdir -p "$work/pull"
python3 - "$work/pull" "$files" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(f"{root}/p{i:05}.txt", "wb") as f:
        f.write(os.urandom(4096))
PY
rclone copy "$work/pull" s3:abench/pulled
# rclone reads a bucket's root: given a prefix, it first asks whether the prefix is a file,
# and s3s-fs answers that about a folder only after a 90 s timeout.
mkdir -p "$work/s3/rpull"
rclone copy "$work/pull" s3:rpull
t0=$(now)
curl -sf "$api/management/clouddrive/sync/$drive?token=$token" > /dev/null
for _ in $(seq 6000); do [ "$(find "$folder/pulled" -type f 2>/dev/null | wc -l)" -ge "$files" ] && break; sleep 0.05; done
a_pull=$(python3 -c "print($(now) - $t0)")
r_pull=$(timed rclone copy s3:rpull "$work/rdown")

ratio() { python3 -c "print(round($2 / $1, 2))"; }
s() { python3 -c "print(round($1, 2))"; }
rclone_version=$(rclone version | sed -n 1p)
cat <<EOF
| synced folder ($files files of 4 KiB and $big_mib MiB) | agent | $rclone_version copy | agent speed / rclone |
|---|---|---|---|
| first sync, until the bucket holds all | $(s "$a_first") s | $(s "$r_first") s | $(ratio "$a_first" "$r_first") |
| 10 files edited, until the bucket has them | $(s "$a_edit") s | $(s "$r_edit") s | $(ratio "$a_edit" "$r_edit") |
| $files new objects brought down | $(s "$a_pull") s | $(s "$r_pull") s | $(ratio "$a_pull" "$r_pull") |

rclone on its defaults (4 transfers, 8 checkers); the agent's pass copies up to 32 small files (8 larger ones) at a time.
EOF
