#!/usr/bin/env python3
"""memscan.py PID HEX: exit 0 if the bytes HEX (or the same bytes reversed,
as a little-endian bignum holds them) are anywhere in the process's
readable memory, 1 if not, 2 if the memory could not be read."""
import sys

def main():
    pid, needle = sys.argv[1], bytes.fromhex(sys.argv[2])
    needles = (needle, needle[::-1])
    try:
        maps = open(f"/proc/{pid}/maps").read().splitlines()
        mem = open(f"/proc/{pid}/mem", "rb", 0)
    except OSError as e:
        print(f"memscan: {e}", file=sys.stderr)
        return 2
    scanned = 0
    for line in maps:
        fields = line.split()
        if "r" not in fields[1]:
            continue
        if len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]"):
            continue
        lo, hi = (int(x, 16) for x in fields[0].split("-"))
        try:
            mem.seek(lo)
            chunk = mem.read(hi - lo)
        except OSError:
            continue
        scanned += len(chunk)
        if any(n in chunk for n in needles):
            return 0
    if scanned == 0:
        return 2
    return 1

sys.exit(main())
