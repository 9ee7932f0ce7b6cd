#!/usr/bin/env bash
# Cloud-to-cloud transfers through the agent against `rclone copy` between the same two S3
# servers (two s3s-fs), in the same run:
#   bench/cloud-to-cloud.sh [ROUNDS] [SIZE_MIB] [FILES]   (default 3 rounds, 1024 MiB, 2000)
# One SIZE_MIB object (MB/s) and FILES objects of 16 KiB under a prefix (objects/s), each
# copied from server A to server B by the agent (`/transfer/transfer`, timed from the request
# until `/transfer/get_all` says Completed), by rclone on its defaults and by rclone tuned
# (`--transfers 16 --s3-upload-concurrency 8`); each row alternates them ROUNDS times and
# reports medians. Copies are compared byte for byte with the source. The agent's peak RSS
# is VmHWM at the end. Needs rclone, curl and python3. Prints a Markdown report on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
size_mib=${2:-1024}
files=${3:-2000}
NEED_MIB=$((size_mib * 7 + files * 16 * 7 / 1024))
source bench/agent_and_rclone.sh

# Server B, with its own cloud account and rclone remote.
mkdir -p "$work/s3b"
b_port=$(port)
"$s3s" --host 127.0.0.1 --port "$b_port" --access-key "$ak" --secret-key "$sk" "$work/s3b" > /dev/null 2>&1 &
b_pid=$!
cleanup_extra() { kill "$b_pid" 2>/dev/null || true; }
for _ in $(seq 100); do curl -s "http://127.0.0.1:$b_port" > /dev/null && break; sleep 0.1; done
tuned=(--transfers 16 --s3-upload-concurrency 8)
b_account=$(post /cloud/insert_account "{\"name\":\"bench-b\",\"cloudType\":8,\"endpoint\":\"http://127.0.0.1:$b_port\",\"accessKey\":\"$ak\",\"secretKey\":\"$sk\"}" | json '["id"]')
rclone_remote S3B "http://127.0.0.1:$b_port" "$ak" "$sk"

# The source objects, each set in a bucket of its own on server A (rclone checks whether a
# source path is an object first, which s3s-fs answers for a folder with a 500 after 45 s),
# written through the S3 API so that the server keeps their ETags as a real one does.
mkdir -p "$work/files/many" "$work/s3/srcbig" "$work/s3/srcmany"
make_files "$size_mib" "$files"
rclone copy "$work/files/big.bin" s3:srcbig
rclone copy "$work/files/many" s3:srcmany "${tuned[@]}"

# Copies `path` of bucket $2 on A into bucket $1 of B; prints seconds.
agent_copy() { # dest-bucket source-bucket source-path
  local t0 id status
  mkdir -p "$work/s3b/$1"
  t0=$(now)
  id=$(post /transfer/transfer "{\"sourceCloudAccountId\":\"$account\",\"sourceBucket\":\"$2\",\"sourcePath\":\"$3\",\"destinationCloudAccountId\":\"$b_account\",\"destinationBucket\":\"$1\",\"destinationPath\":\"\",\"allowSkip\":false,\"keepSourceTree\":false}" | json '["id"]')
  while :; do
    status=$(curl -sf "$api/transfer/get_all?token=$token&pagesize=1000" |
      python3 -c "import json,sys; print(next(t['transferStatus'] for t in json.load(sys.stdin)['data'] if t['id'] == '$id'))")
    case $status in
      4) break ;;
      8|16) echo "agent transfer ended with status $status" >&2; exit 1 ;;
    esac
    sleep 0.05
  done
  python3 -c "print($(now) - $t0)"
}
rclone_copy() { # dest-bucket source [flags]
  local dest=$1 src=$2
  shift 2
  mkdir -p "$work/s3b/$dest"
  timed rclone copy "s3:$src" "s3b:$dest" "$@"
}

declare -a ab rb tb am rm tm
for r in $(seq "$rounds"); do
  rm -rf "$work/s3b/"*
  ab+=("$(agent_copy abig srcbig big.bin)")
  rb+=("$(rclone_copy rbig srcbig/big.bin)")
  tb+=("$(rclone_copy tbig srcbig/big.bin "${tuned[@]}")")
  cmp "$work/files/big.bin" "$work/s3b/abig/big.bin"
  cmp "$work/files/big.bin" "$work/s3b/rbig/big.bin"
  am+=("$(agent_copy amany srcmany "")")
  rm+=("$(rclone_copy rmany srcmany)")
  tm+=("$(rclone_copy tmany srcmany "${tuned[@]}")")
  diff -rq "$work/files/many" "$work/s3b/amany" -x '.*' > /dev/null
done
peak_mib=$(( $(awk '/VmHWM/ {print $2}' "/proc/$agent_pid/status") / 1024 ))

mb() { python3 -c "print(round($size_mib * 1.048576 / $1, 1))"; }
ops() { python3 -c "print(round($files / $1))"; }
ratio() { python3 -c "print(f'{$2 / $1:.2f}')"; }
m_ab=$(median "${ab[@]}"); m_rb=$(median "${rb[@]}"); m_tb=$(median "${tb[@]}")
m_am=$(median "${am[@]}"); m_rm=$(median "${rm[@]}"); m_tm=$(median "${tm[@]}")
cat <<EOF2
| cloud to cloud ($rounds rounds, medians) | agent | rclone $(rclone version | sed -n 1p | awk '{print $2}') | agent / rclone | rclone tuned | agent / tuned |
|---|---|---|---|---|---|
| one ${size_mib} MiB object | $(mb "$m_ab") MB/s | $(mb "$m_rb") MB/s | $(ratio "$m_ab" "$m_rb") | $(mb "$m_tb") MB/s | $(ratio "$m_ab" "$m_tb") |
| $files objects of 16 KiB | $(ops "$m_am") objects/s | $(ops "$m_rm") objects/s | $(ratio "$m_am" "$m_rm") | $(ops "$m_tm") objects/s | $(ratio "$m_am" "$m_tm") |

Agent peak RSS (VmHWM) over the whole run: ${peak_mib} MiB. Two s3s-fs on this machine, their
folders in $base; the agent on its defaults; rclone tuned: ${tuned[*]}.
EOF2
