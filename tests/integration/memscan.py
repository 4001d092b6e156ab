#!/usr/bin/env python3
"""memscan.py PID HEX: exit 0 if the bytes HEX (or the same bytes reversed,
as a little-endian bignum holds them) are anywhere in the process's
readable memory, 1 if not, 2 if the memory could not be read (any
error: a scan that failed must never pass for "not found")."""
import sys

CHUNK = 1 << 20
SKIP = 1 << 34   # mappings this large are sanitizer shadow, not heap


def scan(pid, needles):
    width = max(len(n) for n in needles)
    scanned = 0
    with open(f"/proc/{pid}/maps") as f:
        maps = f.read().splitlines()
    with open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            if "r" not in fields[1]:
                continue
            if len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]"):
                continue
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            if hi - lo >= SKIP:
                continue
            tail = b""
            for off in range(lo, hi, CHUNK):
                try:
                    mem.seek(off)
                    chunk = mem.read(min(CHUNK, hi - off))
                except OSError:
                    tail = b""
                    continue
                scanned += len(chunk)
                data = tail + chunk
                if any(n in data for n in needles):
                    return 0
                tail = data[-(width - 1):]
    return 1 if scanned > 0 else 2


def main():
    try:
        pid, needle = sys.argv[1], bytes.fromhex(sys.argv[2])
        if not needle:
            return 2
        return scan(pid, (needle, needle[::-1]))
    except Exception as e:  # noqa: BLE001 - any failure is "unknown"
        print(f"memscan: {e}", file=sys.stderr)
        return 2


sys.exit(main())
