#!/usr/bin/env python3
"""Prints a firmware's sizes against their budgets; exits 1 if one is over.

    sizes.py ELF TEXT_LIMIT RAM_LIMIT [SELF_TEST_LOG]

RAM is .data + .bss (the heap, the connection task pool and the queues are static). With the
self-test's log, also the per-connection future it measured (limit 8 KiB) and the heap peak.
"""
import re
import struct
import sys


def sections(elf):
    data = open(elf, "rb").read()
    # ELF32 little-endian section headers: name, type, flags, addr, offset, size, ...
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)

    def header(i):
        return struct.unpack_from("<10I", data, shoff + i * shentsize)

    names_off = header(shstrndx)[4]
    sizes = {}
    for i in range(shnum):
        h = header(i)
        end = data.index(b"\0", names_off + h[0])
        sizes[data[names_off + h[0]:end].decode()] = h[5]
    return sizes


def main():
    elf, text_limit, ram_limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    log = open(sys.argv[4]).read() if len(sys.argv) > 4 else None
    sizes = sections(elf)
    rows = []
    if log is not None:
        conn = int(re.search(r"connection future (\d+) bytes", log).group(1))
        rows.append(("per-connection future", conn, 8 * 1024))
    rows += [
        (".text", sizes.get(".text", 0), text_limit),
        ("static RAM (.data + .bss)", sizes.get(".data", 0) + sizes.get(".bss", 0), ram_limit),
    ]
    print("| budget | bytes | limit | |\n|---|---|---|---|")
    ok = True
    for name, value, limit in rows:
        ok &= value <= limit
        print(f"| {name} | {value} | {limit} | {'ok' if value <= limit else 'OVER'} |")
    extra = f"\n.rodata {sizes.get('.rodata', 0)} bytes"
    heap = log and re.search(r"heap peak (\d+) bytes of (\d+)", log)
    if heap:
        extra += f"; heap peak {heap.group(1)} of {heap.group(2)} bytes (the heap is part of .bss)"
    print(extra + ".")
    sys.exit(0 if ok else 1)


main()
