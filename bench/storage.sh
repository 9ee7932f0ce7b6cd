#!/usr/bin/env bash
# The agent's built-in S3 server against s3s-fs on the same disk, driven by the same client
# (rclone) in the same run:
#   bench/storage.sh [ROUNDS] [SIZE_MIB] [FILES]   (default 3 rounds, 1024 MiB, 2000 files)
# One SIZE_MIB object PUT and GET (MB/s), then FILES objects of 16 KiB PUT (objects/s); each
# row alternates the two servers ROUNDS times and reports medians. Both servers keep their
# objects in the same disk folder (TMPDIR); the files sent are in /dev/shm when it has room.
# The disk's own sequential write speed (dd, fsynced) is measured in the same run. Needs
# rclone, curl and python3. Prints a Markdown report on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
size_mib=${2:-1024}
files=${3:-2000}
NEED_MIB=$((size_mib * 3))
AGENT_STORAGE=1
source bench/agent_and_rclone.sh

# s3s-fs with its folder on the disk the agent's storage uses.
disk=$(mktemp -d "${TMPDIR:-/tmp}/click-bench-disk.XXXXXX")
mkdir -p "$disk/s3/bench"
fs_port=$(port)
"$s3s" --host 127.0.0.1 --port "$fs_port" --access-key "$ak" --secret-key "$sk" "$disk/s3" > /dev/null 2>&1 &
fs_pid=$!
cleanup_extra() { kill "$fs_pid" 2>/dev/null || true; rm -rf "$disk"; }
for _ in $(seq 100); do curl -s "http://127.0.0.1:$fs_port" > /dev/null && break; sleep 0.1; done

# The built-in storage, its first bucket, and a key for every bucket.
storage=$(post /cloud/add_storage '{"cloudAccountName":"bench","bucketName":"bench","shared":false}' | json '["id"]')
key=$(post /storage/create_storage_key "{\"name\":\"bench\",\"permission\":2,\"allBuckets\":true,\"selectedBuckets\":[],\"cloudAccountId\":\"$storage\"}")
rclone_remote ST "http://127.0.0.1:$storage_port" "$(echo "$key" | json '["accessKey"]')" "$(echo "$key" | json '["secretKey"]')"
rclone_remote FS "http://127.0.0.1:$fs_port" "$ak" "$sk"

make_files "$size_mib" "$files"

# The disk's own sequential write speed, fsynced.
dd_secs=$(timed dd if=/dev/zero of="$disk/dd.bin" bs=1M count="$size_mib" conv=fsync status=none)
rm -f "$disk/dd.bin"

declare -a sp fp sg fg sm fm
for r in $(seq "$rounds"); do
  rm -rf "$work/files/down"
  sp+=("$(timed rclone copyto "$work/files/big.bin" "st:bench/r$r/big.bin")")
  fp+=("$(timed rclone copyto "$work/files/big.bin" "fs:bench/r$r/big.bin")")
  sg+=("$(timed rclone copyto "st:bench/r$r/big.bin" "$work/files/down/st.bin")")
  fg+=("$(timed rclone copyto "fs:bench/r$r/big.bin" "$work/files/down/fs.bin")")
  cmp "$work/files/big.bin" "$work/files/down/st.bin"
  cmp "$work/files/big.bin" "$work/files/down/fs.bin"
  sm+=("$(timed rclone copy "$work/files/many" "st:bench/r$r/many" --transfers 16)")
  fm+=("$(timed rclone copy "$work/files/many" "fs:bench/r$r/many" --transfers 16)")
  rclone delete "st:bench/r$r" > /dev/null
  rclone delete "fs:bench/r$r" > /dev/null
done
peak_mib=$(( $(awk '/VmHWM/ {print $2}' "/proc/$agent_pid/status") / 1024 ))

# 32 multipart uploads at once (64 MiB each, 5 MiB parts, 4 in flight per upload), then the
# agent's peak RSS again: what it holds while serving them.
head -c $((64 << 20)) "$work/files/big.bin" > "$work/files/mid.bin"
for i in $(seq 32); do
  rclone copyto "$work/files/mid.bin" "st:bench/many-uploads/$i.bin" --s3-chunk-size 5M --s3-upload-concurrency 4 &
done
wait_ok=0
for job in $(jobs -p); do [ "$job" = "$fs_pid" ] || [ "$job" = "$agent_pid" ] || [ "$job" = "${s3_pid:-}" ] || wait "$job" || wait_ok=1; done
[ "$wait_ok" = 0 ] || { echo "a concurrent upload failed" >&2; exit 1; }
[ "$(rclone lsf st:bench/many-uploads | wc -l)" = 32 ] || { echo "not all 32 uploads arrived" >&2; exit 1; }
rclone delete st:bench/many-uploads > /dev/null
peak32_mib=$(( $(awk '/VmHWM/ {print $2}' "/proc/$agent_pid/status") / 1024 ))

mb() { python3 -c "print(round($size_mib * 1.048576 / $1, 1))"; }
ops() { python3 -c "print(round($files / $1))"; }
ratio() { python3 -c "print(f'{$2 / $1:.2f}')"; }
m_sp=$(median "${sp[@]}"); m_fp=$(median "${fp[@]}")
m_sg=$(median "${sg[@]}"); m_fg=$(median "${fg[@]}")
m_sm=$(median "${sm[@]}"); m_fm=$(median "${fm[@]}")
cat <<EOF2
| built-in storage ($rounds rounds, medians, rclone $(rclone version | sed -n 1p | awk '{print $2}')) | agent | s3s-fs 0.14.1 | agent / s3s-fs |
|---|---|---|---|
| PUT ${size_mib} MiB | $(mb "$m_sp") MB/s | $(mb "$m_fp") MB/s | $(ratio "$m_sp" "$m_fp") |
| GET ${size_mib} MiB | $(mb "$m_sg") MB/s | $(mb "$m_fg") MB/s | $(ratio "$m_sg" "$m_fg") |
| PUT $files objects of 16 KiB | $(ops "$m_sm") objects/s | $(ops "$m_fm") objects/s | $(ratio "$m_sm" "$m_fm") |

The disk's own sequential write (dd, 1 MiB blocks, fsynced): $(mb "$dd_secs") MB/s; the
agent's PUT is $(python3 -c "print(round(100 * $dd_secs / $m_sp))")% of it.
Agent peak RSS (VmHWM) over the rows above: ${peak_mib} MiB; after 32 concurrent multipart
uploads (64 MiB each, 5 MiB parts, 4 parts in flight each): ${peak32_mib} MiB. Both servers' folders on the same disk
(${TMPDIR:-/tmp}); the files sent from $base; rclone on its defaults (16 transfers for the
small objects).
EOF2
