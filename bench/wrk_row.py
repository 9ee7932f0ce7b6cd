#!/usr/bin/env python3
"""Turns `wrk --latency` output (stdin) into a BENCHMARKS.md row: | SERVER | CONNS | req/s | p50 | p99 |

    wrk -t1 -c4 -d4s --latency URL | bench/wrk_row.py SERVER 4
"""
import re
import sys

text = sys.stdin.read()
server, conns = sys.argv[1], sys.argv[2]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1)
p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)
print(f"| {server} | {conns} | {rps:.0f} | {p50} | {p99} |")
